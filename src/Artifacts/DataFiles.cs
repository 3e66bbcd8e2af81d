using System.Security.Cryptography;
using EventMlOps.Contracts.Artifacts;
using Microsoft.Win32.SafeHandles;

namespace EventMlOps.Artifacts;

/// <summary>Why data was not read. The message names the URI only truncated and never carries file content or digests.</summary>
public sealed class DataAccessRefused(string uri, string reason) : Exception($"refusing to read {DataUris.Echo(uri)}: {reason}")
{
    public string Reason { get; } = reason;
}

/// <summary>
/// The one way local data is read and hashed: the URI checked by <see cref="DataUris.Problem"/>, then the real path
/// (every symlink followed) required under a root's real path, then a regular file no larger than
/// <see cref="DataRoots.MaxBytes"/> — checked before opening (a FIFO or device is never opened) and again on what was
/// opened (nothing swapped in between) — hashed within <see cref="DataRoots.ReadTimeout"/>.
/// </summary>
internal static class DataFiles
{
    /// <summary>The real path of a <c>file://</c> URI whose content has <paramref name="sha256"/>.</summary>
    /// <exception cref="DataAccessRefused">The URI or what it leads to may not be read.</exception>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="ArtifactIntegrityException">The content does not match.</exception>
    public static async Task<string> VerifiedFileAsync(string uri, string sha256, DataRoots roots, CancellationToken ct)
    {
        using var handle = OpenVerified(uri, roots, out var real);
        await VerifyAsync(uri, handle, sha256, roots, ct);
        return real;
    }

    /// <summary>Copies the content of a <c>file://</c> URI to <paramref name="copy"/> from the very file that was checked
    /// (it is never opened again by its path, which a writer of its folder could have redirected since), verifying it
    /// against <paramref name="sha256"/>; the copy is not to be used when this throws.</summary>
    public static async Task CopyVerifiedAsync(string uri, string sha256, DataRoots roots, Stream copy, CancellationToken ct)
    {
        using var handle = OpenVerified(uri, roots, out _);
        await VerifyAsync(uri, handle, sha256, roots, ct, copy);
    }

    /// <summary>The regular file a <c>file://</c> URI leads to under one of the roots, opened.</summary>
    private static SafeFileHandle OpenVerified(string uri, DataRoots roots, out string real)
    {
        Refuse(uri, DataUris.Problem(uri, roots.Roots));
        var path = DataUris.FilePath(uri, roots.Roots);
        real = UnixFiles.RealPath(path) ?? throw new FileNotFoundException($"{DataUris.Echo(uri)} does not exist");
        var realRoots = roots.Roots.Select(UnixFiles.RealPath).OfType<string>()
            .Where(r => DataUris.RootProblem(r, roots.Protected) is null).ToList();
        Refuse(uri, Inside(real, realRoots));
        Refuse(uri, SizeProblem(UnixFiles.Status(real), roots.MaxBytes));

        // Checked again on what was opened: nothing may have been swapped in since.
        var handle = UnixFiles.OpenRegular(real) ?? throw new DataAccessRefused(uri, "it is not a regular file (or it was replaced)");
        try
        {
            Refuse(uri, UnixFiles.OpenedPath(handle) is { } opened ? Inside(opened, realRoots) : "what was opened cannot be identified");
            Refuse(uri, SizeProblem(UnixFiles.Status(handle), roots.MaxBytes));
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Checks the content behind <paramref name="handle"/> against <paramref name="sha256"/>, streaming, at
    /// most <see cref="DataRoots.MaxBytes"/> bytes, stopping promptly on <paramref name="ct"/> or the read timeout.</summary>
    public static async Task VerifyAsync(string uri, SafeFileHandle handle, string sha256, DataRoots roots, CancellationToken ct, Stream? copy = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(roots.ReadTimeout);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        try
        {
            for (long offset = 0, read; (read = await RandomAccess.ReadAsync(handle, buffer, offset, timeout.Token)) > 0; offset += read)
            {
                if (offset + read > roots.MaxBytes) throw new DataAccessRefused(uri, $"it is larger than {roots.MaxBytes} bytes");
                hash.AppendData(buffer, 0, (int)read);
                if (copy is not null) await copy.WriteAsync(buffer.AsMemory(0, (int)read), timeout.Token);
                timeout.Token.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new DataAccessRefused(uri, $"it was not read within {roots.ReadTimeout.TotalSeconds:0} s (Datasets:ReadTimeoutSeconds)");
        }
        if (!string.Equals(Convert.ToHexStringLower(hash.GetHashAndReset()), sha256, StringComparison.OrdinalIgnoreCase))
            throw new ArtifactIntegrityException(uri, sha256);
    }

    /// <summary>A recorded sha256 is 64 hex digits: it also names cache files, so nothing else may pass.</summary>
    public static void RequireSha256(string uri, string sha256) =>
        Refuse(uri, sha256.Length == 64 && sha256.All(char.IsAsciiHexDigit) ? null : "its recorded sha256 is not 64 hex digits");

    private static void Refuse(string uri, string? problem)
    {
        if (problem is not null) throw new DataAccessRefused(uri, problem);
    }

    private static string? Inside(string real, IEnumerable<string> realRoots) =>
        realRoots.Any(r => real.Length > r.Length && DataUris.IsAtOrUnder(real, r))
            ? null
            : "its real path (symlinks followed) is not under a data root";

    private static string? SizeProblem(UnixFiles.FileStatus? status, long maxBytes) => status switch
    {
        null => "it cannot be examined",
        { IsRegular: false } => "it is not a regular file",
        { Size: var size } when size > maxBytes => $"it is larger than {maxBytes} bytes",
        _ => null,
    };
}
