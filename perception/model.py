"""LeTFuser: panorama + depth + measurements -> segmentation, waypoints, controls, red light.

Data flow (x13 of pagand/e2etransfuser, branch cvpr-w):
  rgb -> CvT-13 (/4, /8, /16 + class token) and a stride-2 skip -> U-Net decoder -> 23-class seg
  depth (camera or depth head) + argmax(seg) -> SDC (bird's-eye per-class occupancy) -> EffNet-B1
  concat(RGB /16, SDC /16) -> BN, 1x1 conv, pool, Linear (136) + measurements (96) -> latent (232)
  latent -> GRU waypoints (3 x 0.5 s); GRU hidden -> policy head -> steer, throttle, brake
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from control.policy_head import PolicyHead, decode_control
from perception.backbone import CvTBackbone
from perception.config import LeTFuserConfig
from perception.depth_head import DepthHead
from perception.fusion import Fusion
from perception.heads import NUM_COMMANDS, MeasurementEncoder, SpeedHead, TrafficLightHead
from perception.sdc import SDCEncoder, SDCProjector
from perception.segmentation_decoder import UNetDecoder
from planning.waypoint_decoder import WaypointDecoder


@dataclass
class LeTFuserOutput:
    """Everything one forward pass predicts; H x W is the input size, units as named."""

    seg_logits: torch.Tensor  # [B, C, H, W]
    seg_probs: torch.Tensor  # [B, C, H, W], sigmoid of seg_logits
    waypoints: torch.Tensor  # [B, N, 2] metres, ego frame (x forward, y right), 0.5 s apart
    control: torch.Tensor  # [B, 3] steer [-1, 1], throttle [0, max_throttle], brake [0, 1]
    control_raw: torch.Tensor  # [B, 3] sigmoid outputs before scaling, each in [0, 1]
    red_light: torch.Tensor  # [B, 1] probability of a red light ahead
    pred_speed: torch.Tensor  # [B, 1] m/s, auxiliary speed prediction from the image
    pred_depth: torch.Tensor | None  # [B, 1, H, W] in [0, 1] (1 = 1000 m), with predict_depth only
    sdc: torch.Tensor  # [B, C, H, W] bird's-eye semantic depth cloud that was encoded


class LeTFuser(nn.Module):
    """The whole model; see the module docstring for the data flow and LeTFuserConfig for sizes."""

    def __init__(self, config: LeTFuserConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = CvTBackbone(config)
        feature_channels = (config.skip_channels, *config.embed_dims)
        seg_widths = (config.embed_dims[2], config.embed_dims[1], config.embed_dims[0], config.decoder_channels)
        self.segmentation_decoder = UNetDecoder(feature_channels, seg_widths, config.num_classes)
        self.depth_head = DepthHead(config) if config.predict_depth else None
        self.sdc_projector = SDCProjector(config)
        self.sdc_encoder = SDCEncoder(config)
        self.traffic_light_head = TrafficLightHead(config)
        self.speed_head = SpeedHead(config)
        self.measurement_encoder = MeasurementEncoder(config)
        self.fusion = Fusion(config, self.sdc_encoder.out_channels)
        self.waypoint_decoder = WaypointDecoder(config.latent_dim, config.num_waypoints)
        self.policy_head = PolicyHead(config.latent_dim, config.policy_hidden)

    def shared_parameters(self) -> list[nn.Parameter]:
        """Last layer shared by the waypoint and control losses (fusion 1x1 conv), for GradNorm.

        x13 measures those four losses on this weight and the segmentation, red-light and speed
        losses on `perception_shared_parameters()`: none of those reaches the fusion layer.
        """
        return [self.fusion.conv.weight]

    def perception_shared_parameters(self) -> list[nn.Parameter]:
        """Last backbone layer, shared by every head (x13's GradNorm layer for seg, red light, speed)."""
        return self.backbone.last_layer_parameters()

    def _check_inputs(self, rgb: torch.Tensor, depth: torch.Tensor | None, target_point: torch.Tensor,
                      speed: torch.Tensor, command: torch.Tensor) -> None:
        cfg = self.config
        batch = rgb.shape[0]
        expected = {
            "rgb": (rgb, (batch, 3, cfg.input_height, cfg.input_width)),
            "target_point": (target_point, (batch, 2)),
            "speed": (speed, (batch, 1)),
            "command": (command, (batch, NUM_COMMANDS)),
        }
        if depth is not None:
            expected["depth"] = (depth, (batch, 1, cfg.input_height, cfg.input_width))
        elif not cfg.predict_depth:
            raise ValueError("LeTFuser.forward: depth is required unless the config sets predict_depth")
        for name, (tensor, shape) in expected.items():
            if tuple(tensor.shape) != shape:
                raise ValueError(f"LeTFuser.forward: {name} must have shape {list(shape)}, "
                                 f"got {list(tensor.shape)}")

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor | None, target_point: torch.Tensor,
                speed: torch.Tensor, command: torch.Tensor) -> LeTFuserOutput:
        """rgb [B,3,H,W] 0..255 RGB; depth [B,1,H,W] 0..1 (1 = 1000 m) or None with predict_depth
        (the depth head's prediction feeds the SDC even when depth is given: it is then only a
        training target); target_point [B,2] m ego frame; speed [B,1] m/s; command [B,6] one-hot."""
        self._check_inputs(rgb, depth, target_point, speed, command)
        features = self.backbone(rgb)
        seg_logits = self.segmentation_decoder(features.skip, features.stage1, features.stage2,
                                               features.stage3)
        pred_depth = self.depth_head(features) if self.depth_head is not None else None
        sdc_depth = pred_depth.detach() if pred_depth is not None else depth
        with torch.no_grad():  # the SDC is a hard occupancy grid: no gradient through argmax/scatter
            sdc = self.sdc_projector(sdc_depth, seg_logits.argmax(dim=1))
        sdc_features = self.sdc_encoder(sdc)
        red_light, light_feature = self.traffic_light_head(features.stage3)
        measurement = self.measurement_encoder(target_point, speed, command)
        latent = self.fusion(features.stage3, sdc_features, measurement)
        waypoints, hidden = self.waypoint_decoder(latent, light_feature, target_point)
        control_raw = self.policy_head(hidden, light_feature, latent, target_point)
        return LeTFuserOutput(
            seg_logits=seg_logits,
            seg_probs=torch.sigmoid(seg_logits),
            waypoints=waypoints,
            control=decode_control(control_raw, self.config.max_throttle),
            control_raw=control_raw,
            red_light=red_light,
            pred_speed=self.speed_head(features.cls_token),
            pred_depth=pred_depth,
            sdc=sdc,
        )


#: Top-level parts listed one level deeper by parameter_breakdown.
_EXPANDED = ("backbone", "sdc_encoder")


def parameter_breakdown(model: nn.Module) -> dict[str, int]:
    """Parameter count per part with weights ("backbone.cvt", "segmentation_decoder", ...) and "total"."""
    counts: dict[str, int] = {}
    for name, child in model.named_children():
        parts = child.named_children() if name in _EXPANDED else [("", child)]
        for sub, module in parts:
            count = sum(p.numel() for p in module.parameters())
            if count:
                counts[f"{name}.{sub}" if sub else name] = count
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts
