"""The files of a leaderboard submission besides our code: Dockerfile, requirements, README.

Facts from the official leaderboard (github.com/carla-simulator/leaderboard, branch master at
aec81319de6b, same Dockerfile as branch leaderboard-2.1 at cfecdc8d99f9;
scripts/Dockerfile.master last changed in e4becf1f060d):
- `scripts/make_docker.sh` copies ${CARLA_ROOT}/PythonAPI, ${SCENARIO_RUNNER_ROOT},
  ${LEADERBOARD_ROOT} and ${TEAM_CODE_ROOT} into a build context as PythonAPI/,
  scenario_runner/, leaderboard/ and team_code/, then builds `scripts/Dockerfile.master` as
  the image `leaderboard-user`;
- Dockerfile.master: base `nvidia/cuda:11.7.1-cudnn8-devel-ubuntu20.04`, a conda env
  `python37` (Python 3.7) first on PATH, the CARLA client as the egg
  PythonAPI/carla/dist/carla-leaderboard-py3x.egg on PYTHONPATH, the roots
  /workspace/CARLA, /workspace/scenario_runner, /workspace/leaderboard, /workspace/team_code,
  PYTHONPATH = egg : scenario_runner : CARLA/PythonAPI/carla : leaderboard : team_code, and
  ENV TEAM_AGENT, TEAM_CONFIG, CHALLENGE_TRACK_CODENAME (SENSORS), ROUTES, REPETITIONS,
  CHECKPOINT_ENDPOINT, DEBUG_CHALLENGE; CMD /bin/bash;
- the evaluator (`run_leaderboard.sh` -> leaderboard/leaderboard_evaluator.py) requires a carla
  client >= 0.9.14 (MIN_CARLA_VERSION) and imports the agent file in its own process.

What we change, and why: torch >= 2.1 needs Python >= 3.8, and the only carla 0.9.14 client for
3.8 is PyPI's cp38 wheel (0.9.14 has cp37/cp38 wheels only; the leaderboard 2.x CARLA package
is 0.9.14-based), so the conda env is Python 3.8, carla comes from requirements.txt and the
py3.7 egg leaves PYTHONPATH. scenario_runner's own pins (numpy 1.18.4, networkx 2.2, Shapely
1.7.1, opencv-python 4.2.0.32) have cp38 wheels; our requirements are installed after them.
"""
from __future__ import annotations

#: Python of the image's conda env (setup.cfg's python_requires minimum).
IMAGE_PYTHON = "3.8"
#: Pins for IMAGE_PYTHON: the newest release of each that still installs there (torch 2.4.1 and
#: transformers 4.46.3 are the last for 3.8), at or above setup.cfg's minimums.
REQUIREMENTS = (
    "carla==0.9.14",
    "torch==2.4.1",
    "torchvision==0.19.1",
    "numpy==1.24.4",
    "pyyaml==6.0.2",
    "opencv-python-headless==4.10.0.84",
    "timm==1.0.15",
    "transformers==4.46.3",
    "safetensors==0.4.5",
)

DOCKERFILE = """\
# LeTFuser submission image, in the layout of the official leaderboard's scripts/Dockerfile.master
# (carla-simulator/leaderboard master aec81319de6b). Build it with that repository's
# scripts/make_docker.sh (see README_SUBMISSION.md): its context holds PythonAPI/, scenario_runner/,
# leaderboard/ and team_code/ (this folder). Changes from Dockerfile.master: Python {python} (torch
# needs >= 3.8) with the carla client from requirements.txt instead of the py3.7 egg.
FROM nvidia/cuda:11.7.1-cudnn8-devel-ubuntu20.04

ARG HTTP_PROXY
ARG HTTPS_PROXY
ARG http_proxy

RUN apt-get update && apt-get install --reinstall -y locales && locale-gen en_US.UTF-8 && rm -rf /var/lib/apt/lists/*
ENV LANG en_US.UTF-8
ENV LANGUAGE en_US
ENV LC_ALL en_US.UTF-8
ENV DEBIAN_FRONTEND=noninteractive

RUN apt-get update && apt-get install -y --no-install-recommends \\
    build-essential cmake git curl vim ca-certificates libjpeg-dev libpng16-16 libtiff5 libpng-dev \\
    python3-dev python3-pip python3-setuptools && \\
    rm -rf /var/lib/apt/lists/*

RUN curl -o ~/miniconda.sh -LO https://repo.continuum.io/miniconda/Miniconda3-latest-Linux-x86_64.sh && \\
    chmod +x ~/miniconda.sh && ~/miniconda.sh -b -p /opt/conda && rm ~/miniconda.sh && \\
    /opt/conda/bin/conda clean -ya && \\
    /opt/conda/bin/conda create -n {env} python={python} numpy networkx scipy six requests

ENV PATH "/opt/conda/envs/{env}/bin":"/opt/conda/envs/bin":$PATH

WORKDIR /workspace

ENV CARLA_ROOT "/workspace/CARLA"
ENV SCENARIO_RUNNER_ROOT "/workspace/scenario_runner"
ENV LEADERBOARD_ROOT "/workspace/leaderboard"
ENV TEAM_CODE_ROOT "/workspace/team_code"

COPY PythonAPI ${{CARLA_ROOT}}/PythonAPI
COPY scenario_runner ${{SCENARIO_RUNNER_ROOT}}
COPY leaderboard ${{LEADERBOARD_ROOT}}
COPY team_code ${{TEAM_CODE_ROOT}}

RUN pip3 install -r ${{SCENARIO_RUNNER_ROOT}}/requirements.txt
RUN pip3 install -r ${{LEADERBOARD_ROOT}}/requirements.txt
RUN pip3 install -r ${{TEAM_CODE_ROOT}}/requirements.txt

RUN mkdir -p /workspace/results
RUN chmod +x /workspace/leaderboard/run_leaderboard.sh

ENV PYTHONPATH "${{SCENARIO_RUNNER_ROOT}}":"${{CARLA_ROOT}}/PythonAPI/carla":"${{LEADERBOARD_ROOT}}":"${{TEAM_CODE_ROOT}}":${{PYTHONPATH}}

############################################################################################
####                     BEGINNING OF AGENT SPECIFIC COMMANDS                           ####
############################################################################################

ENV TEAM_AGENT ${{TEAM_CODE_ROOT}}/{agent_file}
ENV TEAM_CONFIG ${{TEAM_CODE_ROOT}}/{config_file}
ENV CHALLENGE_TRACK_CODENAME {track}

############################################################################################
####                        END OF AGENT SPECIFIC COMMANDS                              ####
############################################################################################

ENV ROUTES ${{LEADERBOARD_ROOT}}/data/routes_devtest.xml
ENV REPETITIONS 1
ENV CHECKPOINT_ENDPOINT /workspace/results/results.json
ENV DEBUG_CHALLENGE 0

ENV HTTP_PROXY ""
ENV HTTPS_PROXY ""
ENV http_proxy ""
ENV https_proxy ""

CMD ["/bin/bash"]
"""

EVALUATE_COMMAND = (
    "python3 ${LEADERBOARD_ROOT}/leaderboard/leaderboard_evaluator.py --host=localhost --port=2000 "
    "--routes=${ROUTES} --repetitions=${REPETITIONS} --track=${CHALLENGE_TRACK_CODENAME} "
    "--checkpoint=${CHECKPOINT_ENDPOINT} --agent=${TEAM_AGENT} --agent-config=${TEAM_CONFIG} "
    "--debug=${DEBUG_CHALLENGE}")

README = """\
# LeTFuser leaderboard submission ({agent})

Built by `driving submission build --agent {agent} --checkpoint {checkpoint} --out <this folder>`.
This folder is the team code (`TEAM_CODE_ROOT`, /workspace/team_code in the image): the agent
file `{agent_file}` (the official evaluator's `--agent`), its config `{config_file}`
(`--agent-config`), the model in `model/`, our packages ({packages}), `requirements.txt` (pinned
for Python {python}) and a `Dockerfile` in the layout of the leaderboard's `Dockerfile.master`.

## Build the image

Needs the leaderboard 2.x CARLA package, the leaderboard (branch leaderboard-2.1) and
scenario_runner (branch leaderboard-2.1) checkouts:

```bash
export CARLA_ROOT=/path/to/CARLA_Leaderboard_20
export LEADERBOARD_ROOT=/path/to/leaderboard
export SCENARIO_RUNNER_ROOT=/path/to/scenario_runner
export TEAM_CODE_ROOT=$(pwd)   # this folder
cp ${{TEAM_CODE_ROOT}}/Dockerfile ${{LEADERBOARD_ROOT}}/scripts/Dockerfile.master   # make_docker.sh builds this file
${{LEADERBOARD_ROOT}}/scripts/make_docker.sh                                   # -> image leaderboard-user
```

## Run it locally against a CARLA server

```bash
${{CARLA_ROOT}}/CarlaUE4.sh -RenderOffScreen -carla-rpc-port=2000 &
docker run --rm -it --gpus all --net=host -v $(pwd)/results:/workspace/results leaderboard-user \\
    /bin/bash -c '{command}'
```

`ROUTES` defaults to the devtest routes; add e.g. `-e ROUTES=/workspace/leaderboard/data/routes_validation.xml`.
The track is {track}: the model reads RGB cameras, GNSS, IMU and the speedometer only.
"""
