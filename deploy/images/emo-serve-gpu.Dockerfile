# syntax=docker/dockerfile:1
# emo-serve-gpu: the model server (src/Serving → emo-serve) built with -p:OnnxRuntimeFlavour=Gpu
# (Microsoft.ML.OnnxRuntime.Gpu.Linux: CUDA 12 and cuDNN 9 must be present, which this base provides). Sessions try the
# CUDA execution provider first and fall back to the CPU with a warning. Same contract as emo-serve: `command:
# [emo-serve]`, port 8080, HOME=EMO_HOME=/work, /tmp. For replicas with Kubernetes__Serving__Gpus=1 (Serving__Image).
# Base: NVIDIA's CUDA 12.8 runtime with cuDNN 9 on Ubuntu 24.04 (the distro of the .NET 10 images); the ASP.NET Core
# runtime is copied from the official aspnet image of the same tag and distro, as Microsoft's own Dockerfiles copy it
# from their installer stage, with the packages .NET needs (dotnet-docker's runtime-deps for noble, less ICU: the
# programs run with InvariantGlobalization). The GPU driver comes from the node (NVIDIA container toolkit).
# Build from the repository root:
#   docker build -f deploy/images/emo-serve-gpu.Dockerfile -t ghcr.io/eventmlops/emo-serve-gpu:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ENV DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY contracts/EventMlOps.Contracts.csproj contracts/
COPY src/Artifacts/EventMlOps.Artifacts.csproj src/Artifacts/
COPY src/Models/EventMlOps.Models.csproj src/Models/
COPY src/Hosting/EventMlOps.Hosting.csproj src/Hosting/
COPY src/Serving/EventMlOps.Serving.csproj src/Serving/
RUN dotnet restore src/Serving -r linux-x64 -p:OnnxRuntimeFlavour=Gpu
COPY contracts/ contracts/
COPY src/Artifacts/ src/Artifacts/
COPY src/Models/ src/Models/
COPY src/Hosting/ src/Hosting/
COPY src/Serving/ src/Serving/
RUN dotnet publish src/Serving -c Release -r linux-x64 --self-contained false --no-restore -p:OnnxRuntimeFlavour=Gpu -o /app \
    && test -f /app/libonnxruntime_providers_cuda.so

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS dotnet

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
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    HOME=/work \
    EMO_HOME=/work \
    PATH=/app:$PATH
COPY --from=build /app /app
WORKDIR /work
EXPOSE 8080
USER $APP_UID
# No curl here either: bash's /dev/tcp asks /health/live (the liveness probe's path) and wants a 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["/app/emo-serve"]
