using EventMlOps.Artifacts;
using EventMlOps.Contracts.Training;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Training.Running;

/// <summary>The trainer's own I/O through the artifact store its agent describes in the environment (see
/// <c>ArtifactStore.ForJob</c>): the dataset fetched and verified against its sha256, the outputs published and reported
/// as <c>EMO_OUTPUT</c> lines (<see cref="TrainerProtocol"/>). A message never carries data or the actual digest.</summary>
public sealed class JobStore(IArtifactStore store)
{
    private static readonly string[] Keys =
    [
        "EMO_HOME", "Artifacts:Root", "Artifacts:S3:Bucket", "Artifacts:S3:Prefix", "Artifacts:S3:ServiceUrl",
        "Datasets:Roots", "Datasets:MaxBytes", "Datasets:ReadTimeoutSeconds",
    ];

    /// <summary>The store of <paramref name="environment"/> (<c>Artifacts__Root</c> or <c>Artifacts__S3__Bucket</c>,
    /// <c>Datasets__Roots</c> …); its cache lives in the working folder's <c>.emo</c> unless <c>EMO_HOME</c> says otherwise.</summary>
    /// <exception cref="UsageException">The settings are unacceptable.</exception>
    public static JobStore Open(Func<string, string?> environment)
    {
        var settings = Keys.Select(k => KeyValuePair.Create(k, environment(k.Replace(":", "__", StringComparison.Ordinal))))
            .Where(s => s.Value is { Length: > 0 }).ToList();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        try
        {
            return new JobStore(ArtifactStore.FromConfiguration(configuration, Path.GetFullPath(configuration["EMO_HOME"] ?? ".emo")));
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException($"the artifact store's settings: {e.Message}");
        }
    }

    /// <summary>A verified local copy of the dataset.</summary>
    /// <exception cref="UsageException">It may not be read, is not there, or its content does not match.</exception>
    public string Fetch(string uri, string sha256)
    {
        try
        {
            return store.LocalizeAsync(uri, sha256, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is DataAccessRefused or ArtifactIntegrityException or FileNotFoundException or NotSupportedException or ArgumentException)
        {
            throw new UsageException($"--data: {e.Message}");
        }
    }

    /// <summary>Puts every output found in <paramref name="folder"/> into the store and reports each on <paramref name="output"/>.</summary>
    public void Publish(string folder, TextWriter output)
    {
        foreach (var (name, file) in TrainerProtocol.Outputs)
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path)) continue;
            var stored = store.PutAsync(path, CancellationToken.None).GetAwaiter().GetResult();
            output.WriteLine(TrainerProtocol.OutputPrefix + JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("uri", stored.Uri);
                w.WriteString("sha256", stored.Sha256);
                w.WriteEndObject();
            }));
        }
        output.Flush();
    }
}
