# syntax=docker/dockerfile:1
# emo-serve (CPU): the model server (src/Serving → emo-serve) with ONNX Runtime's CPU package. The agents' Kubernetes
# runtime runs `command: [emo-serve]` in this image, so the apphost is on PATH; it passes --urls, --control-plane and
# --endpoint, and sets HOME=/work and EMO_HOME=/work (an emptyDir; /tmp is one too).
# Build from the repository root:
#   docker build -f deploy/images/emo-serve.Dockerfile -t ghcr.io/eventmlops/emo-serve:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
ENV DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
WORKDIR /source
# Restore in its own layer: it changes only with the project files.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY contracts/EventMlOps.Contracts.csproj contracts/
COPY src/Artifacts/EventMlOps.Artifacts.csproj src/Artifacts/
COPY src/Models/EventMlOps.Models.csproj src/Models/
COPY src/Hosting/EventMlOps.Hosting.csproj src/Hosting/
COPY src/Serving/EventMlOps.Serving.csproj src/Serving/
RUN dotnet restore src/Serving -r linux-x64
COPY contracts/ contracts/
COPY src/Artifacts/ src/Artifacts/
COPY src/Models/ src/Models/
COPY src/Hosting/ src/Hosting/
COPY src/Serving/ src/Serving/
RUN dotnet publish src/Serving -c Release -r linux-x64 --self-contained false --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS final
# Writes only under /work (models it downloads, --samples) and /tmp; the root filesystem may be read-only.
RUN mkdir /work && chown $APP_UID:$APP_UID /work
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS= \
    HOME=/work \
    EMO_HOME=/work \
    PATH=/app:$PATH
COPY --from=build /app /app
WORKDIR /work
EXPOSE 8080
USER $APP_UID
# The image has no curl: bash's /dev/tcp asks /health/live (the liveness probe's path) and wants a 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ \"$status\" = 200 ]"]
ENTRYPOINT ["/app/emo-serve"]
