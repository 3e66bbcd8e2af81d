# syntax=docker/dockerfile:1
# emo-train-cuda: the reference trainers (src/Training → emo-train) with the CUDA 12.8 libtorch
# (-p:LibTorchFlavour=Cuda: libtorch-cuda-12.8-linux-x64, which this workplace's package mirror does not serve, so this
# image has never been built or run here). Runs where the agents give a run GPUs (Training__Images__<trainer> or
# Training__Image; runs asking for GPUs get --device cuda). Same contract as emo-train: `command: [emo-train]`,
# HOME=/work, working folder /work, /tmp; no server, so no HEALTHCHECK.
# Base: NVIDIA's CUDA 12.8 runtime with cuDNN 9 on Ubuntu 24.04 (the distro of the .NET 10 images); the .NET runtime is
# copied from the official runtime image of the same tag and distro, as Microsoft's own Dockerfiles copy it from their
# installer stage, with the packages .NET needs (dotnet-docker's runtime-deps for noble, less ICU: the programs run
# with InvariantGlobalization). The GPU driver comes from the node (NVIDIA container toolkit / device plugin).
# Build from the repository root:
#   docker build -f deploy/images/emo-train-cuda.Dockerfile -t ghcr.io/eventmlops/emo-train-cuda:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ENV DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY contracts/EventMlOps.Contracts.csproj contracts/
COPY src/Artifacts/EventMlOps.Artifacts.csproj src/Artifacts/
COPY src/Models/EventMlOps.Models.csproj src/Models/
COPY src/Training/EventMlOps.Training.csproj src/Training/
COPY src/Training/build/ src/Training/build/
RUN dotnet restore src/Training -r linux-x64 -p:LibTorchFlavour=Cuda
COPY contracts/ contracts/
COPY src/Artifacts/ src/Artifacts/
COPY src/Models/ src/Models/
COPY src/Training/ src/Training/
# EmoWeakenGlibcxx=always: see emo-train.Dockerfile (the same fix the build applies, forced).
RUN dotnet publish src/Training -c Release -r linux-x64 --self-contained false --no-restore -p:LibTorchFlavour=Cuda \
        -p:EmoWeakenGlibcxx=always -o /app \
    && test -f /app/libLibTorchSharp.so && test -f /app/libtorch_cuda.so

FROM mcr.microsoft.com/dotnet/runtime:10.0-noble AS dotnet

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS final
ENV APP_UID=1654 \
    DOTNET_ROOT=/usr/share/dotnet \
    DOTNET_RUNNING_IN_CONTAINER=true
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libc6 libgcc-s1 libssl3t64 libstdc++6 tzdata zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid=$APP_UID app \
    && useradd --no-log-init --uid=$APP_UID --gid=$APP_UID --create-home app \
    && mkdir /work && chown $APP_UID:$APP_UID /work
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV HOME=/work \
    PATH=/app:$PATH
COPY --from=build /app /app
WORKDIR /work
USER $APP_UID
ENTRYPOINT ["/app/emo-train"]
