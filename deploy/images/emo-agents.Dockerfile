# syntax=docker/dockerfile:1
# emo-agents: the agents (src/Agents → emo-agents), Wolverine's handler code generated at build time and compiled in
# (README "Release builds"), run with CodeGeneration__Mode=Static. On a cluster they run training Jobs in the emo-train
# image and model servers in the emo-serve image (Agents__Runtime=kubernetes, set by the manifests).
# Build from the repository root:
#   docker build -f deploy/images/emo-agents.Dockerfile -t ghcr.io/eventmlops/emo-agents:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ENV DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /source
# Restore in its own layer: it changes only with the project files.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY contracts/EventMlOps.Contracts.csproj contracts/
COPY src/Artifacts/EventMlOps.Artifacts.csproj src/Artifacts/
COPY src/Hosting/EventMlOps.Hosting.csproj src/Hosting/
COPY src/Agents/EventMlOps.Agents.csproj src/Agents/
RUN dotnet restore src/Agents -r linux-x64
COPY contracts/ contracts/
COPY src/Artifacts/ src/Artifacts/
COPY src/Hosting/ src/Hosting/
COPY src/Agents/ src/Agents/
# `codegen write` runs in the project folder and writes Internal/Generated/ there; nothing connects anywhere.
RUN cd src/Agents \
    && EMO_HOME=/tmp/codegen Agents__Token=not-used-for-code-generation \
       EMO_POSTGRES="Host=127.0.0.1;Port=1;Username=codegen;Database=codegen;Timeout=1" \
       dotnet run -c Release --no-restore -- codegen write \
    && test -n "$(ls Internal/Generated/WolverineHandlers)"
RUN dotnet publish src/Agents -c Release -r linux-x64 --self-contained false --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS final
# The root filesystem may be read-only: the manifests mount an emptyDir at /tmp, so HOME and EMO_HOME live there
# (on Kubernetes the agents keep no job folders: jobs are Jobs and Deployments, artifacts are in S3).
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS= \
    CodeGeneration__Mode=Static \
    HOME=/tmp \
    EMO_HOME=/tmp/emo \
    PATH=/app:$PATH
WORKDIR /app
COPY --from=build /app ./
EXPOSE 8080
USER $APP_UID
# The image has no curl: bash's /dev/tcp asks /health/live (the liveness probe's path) and wants a 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["/app/emo-agents"]
