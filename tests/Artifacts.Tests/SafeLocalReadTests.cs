using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.Artifacts.Tests;

/// <summary>Dataset reads on real files: what a scientist's URI may lead the agent to (keys, /etc, devices, FIFOs,
/// huge files) and what it must do instead — refuse, before reading, without telling anything about the file.</summary>
public sealed class SafeLocalReadTests : IDisposable
{
    private const string Secret = "hmac-signing-key-material";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _dir = Directory.CreateTempSubdirectory("emo-safe-read-").FullName;
    private readonly string _data;
    private readonly string _keyFile;

    public SafeLocalReadTests()
    {
        _data = Directory.CreateDirectory(Path.Combine(_dir, "data")).FullName;
        var keys = Directory.CreateDirectory(Path.Combine(_dir, "home", "keys")).FullName;
        _keyFile = Path.Combine(keys, "signing.key");
        File.WriteAllText(_keyFile, Secret);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Sha(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    private static string Uri(string path) => new Uri(path).AbsoluteUri;

    private LocalArtifactStore Store(long maxBytes = DataRoots.DefaultMaxBytes, double timeoutSeconds = 900) => new(new DataRoots(
        Path.Combine(_dir, "store"), [_data], [Path.Combine(_dir, "home", "keys")], maxBytes, TimeSpan.FromSeconds(timeoutSeconds)));

    private async Task<DataAccessRefused> RefusedAsync(string uri, string sha256, string reason, long maxBytes = DataRoots.DefaultMaxBytes)
    {
        var error = await Should.ThrowAsync<DataAccessRefused>(() => Store(maxBytes).LocalizeAsync(uri, sha256, Ct));
        error.Reason.ShouldContain(reason);
        error.Message.ShouldNotContain(Secret);
        error.Message.ShouldNotContain(Sha(Secret));
        return error;
    }

    [Fact]
    public async Task Given_a_good_dataset_in_a_root_When_localized_Then_its_real_path_comes_back_verified()
    {
        var file = Path.Combine(_data, "u.data");
        File.WriteAllText(file, "1\t2\t5\t0\n");

        (await Store().LocalizeAsync(Uri(file), Sha("1\t2\t5\t0\n"), Ct)).ShouldBe(file);
        (await Store().LocalizeAsync(Uri(file), Sha("1\t2\t5\t0\n").ToUpperInvariant(), Ct)).ShouldBe(file);
    }

    [Fact]
    public async Task Given_the_key_file_by_its_path_or_through_a_symlink_in_a_root_When_localized_Then_it_is_refused_without_a_trace_of_it()
    {
        var link = Path.Combine(_data, "innocent.csv");
        File.CreateSymbolicLink(link, _keyFile);

        await RefusedAsync(Uri(_keyFile), Sha(Secret), "not under a data root");
        await RefusedAsync(Uri(link), Sha(Secret), "real path");
        await RefusedAsync(Uri(link), new string('0', 64), "real path"); // not even an integrity error: nothing is read
    }

    [Fact]
    public async Task Given_a_symlinked_directory_to_etc_When_a_file_through_it_is_localized_Then_it_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_data, "configs"), "/etc");

        await RefusedAsync(Uri(Path.Combine(_data, "configs", "passwd")), Sha("x"), "real path");
        await RefusedAsync(Uri(Path.Combine(_data, "configs", "hostname")), Sha("x"), "real path");
    }

    [Fact]
    public async Task Given_dev_zero_through_a_symlink_and_proc_environ_When_localized_Then_they_are_refused_at_once()
    {
        File.CreateSymbolicLink(Path.Combine(_data, "zeros.bin"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(_data, "environ"), "/proc/self/environ");

        var clock = Stopwatch.StartNew();
        await RefusedAsync(Uri(Path.Combine(_data, "zeros.bin")), Sha(""), "real path");
        await RefusedAsync(Uri(Path.Combine(_data, "environ")), Sha(""), "real path");
        await RefusedAsync("file:///dev/zero", Sha(""), "not under a data root");
        await RefusedAsync("file:///proc/self/environ", Sha(""), "not under a data root");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Given_a_fifo_or_a_directory_inside_a_root_When_localized_Then_it_is_refused_without_blocking()
    {
        var fifo = Path.Combine(_data, "pipe.csv");
        using (var mkfifo = Process.Start("mkfifo", [fifo])) await mkfifo.WaitForExitAsync(Ct);
        Directory.CreateDirectory(Path.Combine(_data, "folder.csv"));

        var refusal = Task.Run(() => RefusedAsync(Uri(fifo), Sha(""), "not a regular file"), Ct);
        (await Task.WhenAny(refusal, Task.Delay(TimeSpan.FromSeconds(10), Ct))).ShouldBe(refusal, "a FIFO must never block the reader");
        await refusal;
        await RefusedAsync(Uri(Path.Combine(_data, "folder.csv")), Sha(""), "not a regular file");
    }

    [Fact]
    public async Task Given_a_file_larger_than_the_limit_When_localized_Then_it_is_refused_before_reading()
    {
        var file = Path.Combine(_data, "big.csv");
        File.WriteAllText(file, new string('x', 2048));

        await RefusedAsync(Uri(file), Sha(new string('x', 2048)), "larger than 1024 bytes", maxBytes: 1024);
        (await Store(maxBytes: 2048).LocalizeAsync(Uri(file), Sha(new string('x', 2048)), Ct)).ShouldBe(file);
    }

    [Fact]
    public async Task Given_a_huge_sparse_file_When_its_read_times_out_or_is_cancelled_Then_it_stops_promptly_with_a_clear_error()
    {
        var file = Path.Combine(_data, "huge.bin");
        using (var huge = File.Create(file)) huge.SetLength(8L << 30);

        var clock = Stopwatch.StartNew();
        var error = await Should.ThrowAsync<DataAccessRefused>(() => Store(timeoutSeconds: 1).LocalizeAsync(Uri(file), Sha(""), Ct));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));
        error.Reason.ShouldContain("not read within 1 s");

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(500));
        clock.Restart();
        await Should.ThrowAsync<OperationCanceledException>(() => Store().LocalizeAsync(Uri(file), Sha(""), cancel.Token));
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));
    }

    [Theory]
    [InlineData("data/../home/keys/signing.key")]
    [InlineData("data/%2e%2e/home/keys/signing.key")]
    [InlineData("data%2f..%2fhome/keys/signing.key")]
    public async Task Given_a_traversal_uri_When_localized_Then_it_is_refused_before_any_file_access(string relative)
    {
        // The target need not even exist: the URI alone is refused.
        var error = await Should.ThrowAsync<DataAccessRefused>(() => Store().LocalizeAsync($"file://{_dir}/{relative}", Sha(Secret), Ct));

        error.Reason.ShouldNotContain("real path");
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("javascript:alert(1)")]
    public async Task Given_a_uri_of_another_kind_When_localized_Then_it_is_refused(string uri) =>
        await Should.ThrowAsync<DataAccessRefused>(() => Store().LocalizeAsync(uri, Sha(""), Ct));

    [Fact]
    public async Task Given_a_sha256_that_is_not_64_hex_digits_When_localized_Then_it_is_refused_before_naming_a_cache_file()
    {
        var file = Path.Combine(_data, "u.data");
        File.WriteAllText(file, "x");

        await RefusedAsync(Uri(file), "../../../../tmp/evil", "64 hex digits");
    }

    [Fact]
    public void Given_configuration_When_data_roots_are_read_Then_array_and_list_settings_add_up_and_dangerous_roots_name_their_setting()
    {
        static IConfiguration Config(params (string Key, string Value)[] settings) => new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        var home = Path.Combine(_dir, "home");

        var roots = DataRoots.FromConfiguration(Config(("Datasets:Roots:0", "/data/a"), ("Datasets:Roots:1", "/data/b/"),
            ("Datasets:MaxBytes", "1000"), ("Datasets:ReadTimeoutSeconds", "5")), home);
        roots.Roots.ShouldBe([Path.Combine(home, "artifacts"), "/data/a", "/data/b"]);
        (roots.MaxBytes, roots.ReadTimeout).ShouldBe((1000L, TimeSpan.FromSeconds(5)));
        DataRoots.FromConfiguration(Config(("Datasets:Roots", "/data/a; /data/b")), home).Roots.ShouldBe([Path.Combine(home, "artifacts"), "/data/a", "/data/b"]);
        var defaults = DataRoots.FromConfiguration(Config(), home);
        (defaults.MaxBytes, defaults.ReadTimeout).ShouldBe((16L << 30, TimeSpan.FromSeconds(900)));

        Should.Throw<InvalidOperationException>(() => DataRoots.FromConfiguration(Config(("Datasets:Roots", "/etc")), home)).Message.ShouldStartWith("Datasets:Roots:");
        Should.Throw<InvalidOperationException>(() => DataRoots.FromConfiguration(Config(("Datasets:Roots:0", "data")), home)).Message.ShouldContain("absolute");
        Should.Throw<InvalidOperationException>(() => DataRoots.FromConfiguration(Config(("Datasets:Roots", home)), home)).Message.ShouldContain("protected");
        Should.Throw<InvalidOperationException>(() => DataRoots.FromConfiguration(Config(("Artifacts:Root", "/")), home)).Message.ShouldStartWith("Artifacts:Root:");
        Should.Throw<InvalidOperationException>(() => DataRoots.FromConfiguration(Config(("Datasets:Roots", "/data/a")), home, ["/data"])).Message.ShouldContain("protected");
    }

    [Fact]
    public async Task Given_a_job_output_that_links_to_the_key_When_stored_Then_it_is_refused_and_nothing_is_copied()
    {
        var output = Path.Combine(_dir, "model.onnx");
        File.CreateSymbolicLink(output, _keyFile);

        await Should.ThrowAsync<IOException>(() => Store().PutAsync(output, Ct));

        Directory.Exists(Path.Combine(_dir, "store", "sha256")).ShouldBeFalse();
    }
}
