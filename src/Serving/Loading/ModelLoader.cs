using System.Diagnostics;
using EventMlOps.Artifacts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Models;
using Keys = EventMlOps.Models.ModelMetadata;
using EventMlOps.Serving.Batching;
using EventMlOps.Serving.Recommending;
using EventMlOps.Serving.Scoring;
using Onnx;

namespace EventMlOps.Serving.Loading;

/// <summary>Loads a version: fetches the artifact and verifies its sha256 (the artifact store refuses a mismatch),
/// builds the sessions its kind needs and warms them. Anything wrong is an exception for the caller to report;
/// nothing half-loaded is left behind. A version that carries injected faults (<see cref="InjectedFaults"/>) is
/// loaded like any other, with a warning naming them.</summary>
public sealed class ModelLoader(IArtifactStore store, OrtSessions sessions, BatchPolicy batching, ILogger<ModelLoader> log)
{
    public async Task<ServedModel> LoadAsync(ServedVersion version, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var path = await store.LocalizeAsync(version.ArtifactUri, version.ArtifactSha256, ct);
        var bytes = await File.ReadAllBytesAsync(path, ct);
        var proto = ModelProto.Parser.ParseFrom(bytes);
        var metadata = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        var session = sessions.Create(bytes);
        ServedModel model;
        try
        {
            model = metadata.GetValueOrDefault(Keys.ModelKind) switch
            {
                Keys.Recommender => RecommenderModel.Load(version, session, proto, metadata, batching),
                Keys.Anomaly => AnomalyModel.Load(version, session, metadata, batching),
                var kind => throw new InvalidDataException($"model_kind '{kind}' cannot be served: only {Keys.Recommender} and {Keys.Anomaly}"),
            };
        }
        catch
        {
            session.Dispose();
            throw;
        }
        try
        {
            model.Warm();
        }
        catch
        {
            model.Release();
            throw;
        }
        log.LogInformation("Loaded {Model} (sha256 {Sha256}, {Bytes} bytes) in {Milliseconds:0} ms",
            model.Label, version.ArtifactSha256, bytes.Length, clock.Elapsed.TotalMilliseconds);
        if (model.Faults is { } faults)
            log.LogWarning("{Model} carries injected faults: {Faults}", model.Label, faults.Describe());
        return model;
    }
}
