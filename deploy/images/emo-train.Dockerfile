# syntax=docker/dockerfile:1
# emo-train (CPU): the reference trainers (src/Training → emo-train), TorchSharp with the CPU libtorch. The agents'
# Kubernetes runtime runs `command: [emo-train]` in this image as a Job, so the apphost is on PATH; it sets HOME=/work,
# TMPDIR=/tmp and the working folder /work (emptyDirs: the root filesystem is read-only). The trainer writes only its
# --out folder and its artifact cache (.emo/ in the working folder) there. No server, so no HEALTHCHECK: a Job has none.
# Build from the repository root:
#   docker build -f deploy/images/emo-train.Dockerfile -t ghcr.io/eventmlops/emo-train:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ENV DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /source
# Restore in its own layer: it changes only with the project files.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY contracts/EventMlOps.Contracts.csproj contracts/
COPY src/Artifacts/EventMlOps.Artifacts.csproj src/Artifacts/
COPY src/Models/EventMlOps.Models.csproj src/Models/
COPY src/Training/EventMlOps.Training.csproj src/Training/
COPY src/Training/build/ src/Training/build/
RUN dotnet restore src/Training -r linux-x64
COPY contracts/ contracts/
COPY src/Artifacts/ src/Artifacts/
COPY src/Models/ src/Models/
COPY src/Training/ src/Training/
# EmoWeakenGlibcxx=always: the build's own fix (src/Training/build/TorchSharpNativeCompat.targets) marks the
# GLIBCXX_3.4.32 version need of the published libLibTorchSharp.so weak whatever this build machine's libstdc++ has,
# so the image stays loadable on any libstdc++ (Ubuntu 24.04's has that version; Debian 12's does not).
RUN dotnet publish src/Training -c Release -r linux-x64 --self-contained false --no-restore -p:EmoWeakenGlibcxx=always -o /app \
    && test -f /app/libLibTorchSharp.so

FROM mcr.microsoft.com/dotnet/runtime:10.0-noble AS final
RUN mkdir /work && chown $APP_UID:$APP_UID /work
ENV HOME=/work \
    PATH=/app:$PATH
COPY --from=build /app /app
WORKDIR /work
USER $APP_UID
ENTRYPOINT ["/app/emo-train"]
