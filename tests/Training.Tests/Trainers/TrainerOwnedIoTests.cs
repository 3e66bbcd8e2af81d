using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using EventMlOps.Contracts.Training;
using EventMlOps.Training.Anomaly;
using EventMlOps.Training.Tests.Testing;

namespace EventMlOps.Training.Tests.Trainers;

/// <summary>The real trainer owns its I/O, as a pod's would: it fetches its dataset through the artifact store the
/// environment describes and trains only if the content has the dataset's sha256, then publishes its outputs there and
/// reports each as an <c>EMO_OUTPUT</c> line (uri + sha256) — never data or the actual digest in a message.</summary>
[Collection(TorchCollection.Name)]
public class TrainerOwnedIoTests
{
    private readonly string _data = Temp.Folder();
    private readonly string _work = Temp.Folder();

    private (int Exit, string Out, string Err) Run(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["Artifacts__Root"] = Path.Combine(_work, "store"),
            ["Datasets__Roots"] = _data,
            ["EMO_HOME"] = Path.Combine(_work, ".emo"),
        };
        var (output, errors) = (new StringWriter(), new StringWriter());
        var exit = TrainerProgram.Run(args, output, errors, environment.GetValueOrDefault);
        return (exit, output.ToString(), errors.ToString());
    }

    private string Readings()
    {
        var data = SensorGenerator.Generate(new SensorGeneratorOptions(Machines: 2, Days: 2, NormalFraction: 0.8, Seed: 3));
        using var csv = new StringWriter();
        csv.WriteLine("timestamp,machine,pressure,temperature,label");
        foreach (var m in data.Machines)
            for (var t = 0; t < m.Length; t++)
                csv.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{DateTimeOffset.FromUnixTimeMilliseconds(m.Timestamps[t]):O},{m.Machine},{m.Values[t * 3 + 2]},{m.Values[t * 3]},{m.Labels![t]}"));
        var path = Path.Combine(_data, "readings.csv");
        File.WriteAllText(path, csv.ToString());
        return path;
    }

    [Fact]
    public void Given_a_dataset_uri_and_its_sha256_When_the_trainer_publishes_Then_each_output_is_in_the_store_under_the_sha256_it_reports()
    {
        var path = Readings();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

        var (exit, stdout, stderr) = Run("anomaly", "--data", new Uri(path).AbsoluteUri, "--data-sha256", sha256, "--out", Path.Combine(_work, "out"),
            "--publish", "--epochs", "1", "--window", "12", "--hidden", "16,4");

        exit.ShouldBe(0, stderr);
        var published = stdout.Split('\n').Where(l => l.StartsWith(TrainerProtocol.OutputPrefix, StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[TrainerProtocol.OutputPrefix.Length..]).RootElement)
            .ToDictionary(o => o.GetProperty("name").GetString()!, o => (Uri: o.GetProperty("uri").GetString()!, Sha256: o.GetProperty("sha256").GetString()!));
        published.Keys.Order().ShouldBe(["baseline", "metrics", "model", "params"]);
        foreach (var (uri, sha) in published.Values)
        {
            var stored = new Uri(uri).LocalPath;
            stored.ShouldStartWith(Path.Combine(_work, "store", "sha256") + "/");
            Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(stored))).ShouldBe(sha);
        }
        File.ReadAllBytes(new Uri(published["model"].Uri).LocalPath).ShouldBe(File.ReadAllBytes(Path.Combine(_work, "out", "model.onnx")));
    }

    [Fact]
    public void Given_a_dataset_whose_content_differs_from_its_sha256_When_the_trainer_fetches_it_Then_it_exits_2_without_training_or_disclosing_the_digest()
    {
        var path = Readings();
        var actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        var claimed = new string('c', 64);

        var (exit, stdout, stderr) = Run("anomaly", "--data", new Uri(path).AbsoluteUri, "--data-sha256", claimed, "--out", Path.Combine(_work, "out"),
            "--publish", "--epochs", "1");

        exit.ShouldBe(TrainerProgram.BadUsage);
        stderr.ShouldContain("does not match the recorded sha256 cccccccccccc");
        (stdout + stderr).ShouldNotContain(actual[..12]);
        stdout.ShouldNotContain(TrainerProtocol.OutputPrefix);
        Directory.Exists(Path.Combine(_work, "store")).ShouldBeFalse("nothing was published");
    }

    [Fact]
    public void Given_a_dataset_outside_the_data_roots_When_the_trainer_fetches_it_Then_it_refuses_to_read_it()
    {
        var outside = Temp.File("secret\n", "elsewhere.csv");

        var (exit, _, stderr) = Run("anomaly", "--data", new Uri(outside).AbsoluteUri, "--data-sha256",
            Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(outside))), "--out", Path.Combine(_work, "out"), "--epochs", "1");

        exit.ShouldBe(TrainerProgram.BadUsage);
        stderr.ShouldContain("refusing to read");
        stderr.ShouldNotContain("secret");
    }
}
