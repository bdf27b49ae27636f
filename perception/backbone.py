"""CvT-13 image backbone: one pass over the panorama gives features at /4, /8 and /16.

Built locally from `transformers.CvtConfig` (never `from_pretrained`, which would download); weights
come from a local path (see perception.pretrained). The attention of HF's CvT is swapped for
`scaled_dot_product_attention` (same maths, same weights): the explicit einsum + softmax took
~30% of a CPU forward at 160 x 768. An extra stride-2 ConvBNReLU on the normalised image gives the
/2 skip the U-Net decoder needs (x13's `conv1_down`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CvtConfig, CvtModel
from transformers.models.cvt.modeling_cvt import CvtSelfAttention

from perception.config import LeTFuserConfig
from perception.pretrained import load_backbone_weights, warn_random_init
from perception.segmentation_decoder import ConvBNReLU

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class _SdpaCvtSelfAttention(CvtSelfAttention):
    """HF CvT self-attention computed by fused SDPA; parameters and outputs are unchanged."""

    def forward(self, hidden_state: torch.Tensor, height: int, width: int) -> torch.Tensor:
        if self.with_cls_token:
            cls_token, hidden_state = torch.split(hidden_state, [1, height * width], 1)
        batch, _, channels = hidden_state.shape
        # A channels-last view of the tokens (no copy); the depthwise projections keep that layout,
        # so HF's flatten back to tokens is a free view too (channels-first cost a copy per layer).
        image = hidden_state.view(batch, height, width, channels).permute(0, 3, 1, 2)
        query = self.convolution_projection_query(image)
        key = self.convolution_projection_key(image)
        value = self.convolution_projection_value(image)
        if self.with_cls_token:
            query = torch.cat((cls_token, query), dim=1)
            key = torch.cat((cls_token, key), dim=1)
            value = torch.cat((cls_token, value), dim=1)
        query = self.rearrange_for_multi_head_attention(self.projection_query(query))
        key = self.rearrange_for_multi_head_attention(self.projection_key(key))
        value = self.rearrange_for_multi_head_attention(self.projection_value(value))
        dropout = self.dropout.p if self.training else 0.0
        context = F.scaled_dot_product_attention(query, key, value, dropout_p=dropout, scale=self.scale)
        return context.transpose(1, 2).reshape(batch, query.shape[2], channels)


def cvt_config(config: LeTFuserConfig) -> CvtConfig:
    """The transformers CvtConfig for our sizes (CvT-13 by default), with no classification head."""
    return CvtConfig(
        num_channels=3,
        embed_dim=list(config.embed_dims),
        depth=list(config.depths),
        num_heads=list(config.num_heads),
        patch_sizes=list(config.patch_sizes),
        patch_stride=list(config.patch_strides),
        patch_padding=[k // 2 for k in config.patch_sizes],
    )


@dataclass
class BackboneFeatures:
    """Image features; spatial sizes relative to the input (H x W)."""

    skip: torch.Tensor  # [B, skip_channels, H/2, W/2]
    stage1: torch.Tensor  # [B, embed_dims[0], H/4, W/4]
    stage2: torch.Tensor  # [B, embed_dims[1], H/8, W/8]
    stage3: torch.Tensor  # [B, embed_dims[2], H/16, W/16]
    cls_token: torch.Tensor  # [B, embed_dims[2]], CvT's stage-3 class token (speed head input)


class CvTBackbone(nn.Module):
    """ImageNet normalisation + CvT stages + the stride-2 skip, from an RGB image in 0..255."""

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        self.cvt = CvtModel(cvt_config(config), add_pooling_layer=False)
        for module in self.cvt.modules():
            if type(module) is CvtSelfAttention:
                module.__class__ = _SdpaCvtSelfAttention
        if config.pretrained_backbone_path is not None:
            load_backbone_weights(self.cvt, config.pretrained_backbone_path)
        else:
            warn_random_init()
        self.skip = ConvBNReLU(3, config.skip_channels, stride=2)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        # x / 255 then (x - mean) / std, folded into one multiply-add.
        self.register_buffer("_scale", 1.0 / (255.0 * std), persistent=False)
        self.register_buffer("_shift", -mean / std, persistent=False)

    def normalise(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB 0..255 (float or uint8) -> ImageNet-normalised float input."""
        return torch.addcmul(self._shift, rgb if rgb.is_floating_point() else rgb.float(), self._scale)

    def last_layer_parameters(self) -> list[nn.Parameter]:
        """The output projection of CvT's last layer: the last layer every task head depends on."""
        return [self.cvt.encoder.stages[-1].layers[-1].output.dense.weight]

    def forward(self, rgb: torch.Tensor) -> BackboneFeatures:
        image = self.normalise(rgb)
        out = self.cvt(image, output_hidden_states=True, return_dict=True)
        stage1, stage2, stage3 = out.hidden_states
        # CvtConfig's default puts a class token in the last stage only (cls_token = F, F, T).
        return BackboneFeatures(self.skip(image), stage1, stage2, stage3, out.cls_token_value.squeeze(1))
