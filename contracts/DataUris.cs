using System.Globalization;
using System.Text;

namespace EventMlOps.Contracts.Artifacts;

/// <summary>
/// What a dataset or artifact URI may be, checked at the edge (registration, the CLI) and again by every reader, so
/// that a URI can never make an agent or the control plane read something it should not: only <c>file://</c> paths
/// strictly under configured data roots, <c>s3://bucket/key</c> and <c>generate://kind?name=value&amp;…</c>. The checks
/// are lexical; a reader must still resolve symlinks and check what it actually opens.
/// </summary>
public static class DataUris
{
    public const int MaxLength = 2048;

    /// <summary>How much of a URI may appear in a message: enough to recognise it, never a payload.</summary>
    public const int EchoLength = 80;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Never a data root, nor inside one: the system's own files and the database's.</summary>
    public static readonly IReadOnlyList<string> SystemPaths =
        ["/proc", "/sys", "/dev", "/etc", "/boot", "/root", "/run", "/var/lib/postgresql", "/usr", "/bin", "/sbin", "/lib", "/lib64"];

    /// <summary>Null when <paramref name="uri"/> is acceptable, else a short reason (quoting at most
    /// <see cref="EchoLength"/> characters of it). <paramref name="fileRoots"/>: absolute, normalised folders under which
    /// <c>file://</c> paths may lie.</summary>
    public static string? Problem(string? uri, IReadOnlyList<string> fileRoots)
    {
        if (string.IsNullOrEmpty(uri)) return "the URI is empty";
        if (uri.Length > MaxLength) return $"the URI is longer than {MaxLength} characters";
        foreach (var c in uri)
            if (c is <= ' ' or >= '\x7f') // also rules out every Unicode look-alike of '/' or '.'
                return "the URI contains a control, whitespace or non-ASCII character (percent-encode it)";
        if (uri.Contains('\\')) return "the URI contains a backslash";

        var colon = uri.IndexOf(':');
        if (colon <= 0 || !IsScheme(uri.AsSpan(0, colon)))
            return uri[0] == '/' || uri[0] == '.' ? "a relative or bare path is not a URI (use file:///…)" : "the URI has no scheme";
        var scheme = uri[..colon].ToLowerInvariant();
        return scheme switch
        {
            "file" => FileProblem(uri, fileRoots, out _),
            "s3" => S3Problem(uri, out _, out _),
            "generate" => GenerateProblem(uri.AsSpan(colon + 1)),
            "http" or "https" => $"the scheme '{scheme}' is not allowed: nothing is fetched from a server (use s3:// or file://)",
            _ when scheme.Length == 1 => "a Windows path is not a URI",
            _ => $"the scheme '{Echo(scheme)}' is not allowed (only file, s3 and generate)",
        };
    }

    /// <summary>The local path of an acceptable <c>file://</c> URI, percent-decoded.</summary>
    /// <exception cref="ArgumentException">The URI is not an acceptable <c>file://</c> URI under <paramref name="fileRoots"/>.</exception>
    public static string FilePath(string uri, IReadOnlyList<string> fileRoots) =>
        Problem(uri, fileRoots) is null && FileProblem(uri, fileRoots, out var path) is null
            ? path!
            : throw new ArgumentException($"{Echo(uri)} is not a file:// URI under the data roots", nameof(uri));

    /// <summary>The bucket and (percent-decoded) key of an acceptable <c>s3://</c> URI.</summary>
    /// <exception cref="ArgumentException">The URI is not an acceptable <c>s3://</c> URI.</exception>
    public static (string Bucket, string Key) S3Object(string uri) =>
        Problem(uri, []) is null && S3Problem(uri, out var bucket, out var key) is null
            ? (bucket!, key!)
            : throw new ArgumentException($"{Echo(uri)} is not an s3:// URI", nameof(uri));

    /// <summary>Null when <paramref name="root"/> may be a data root: absolute, normalised, not a system folder nor
    /// inside one, and neither containing nor inside any of <paramref name="protectedPaths"/> (keys, the database, job
    /// folders).</summary>
    public static string? RootProblem(string root, IReadOnlyList<string> protectedPaths)
    {
        if (string.IsNullOrEmpty(root) || root[0] != '/') return $"'{Echo(root)}' is not an absolute path";
        if (root == "/") return "'/' is the whole machine";
        if (root.Length > MaxLength || root.EndsWith('/') || root.Contains("//", StringComparison.Ordinal) || root.Contains('\\')
            || HasDotSegment(root) || root.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
            return $"'{Echo(root)}' is not a normalised path";
        foreach (var system in SystemPaths)
            if (IsAtOrUnder(root, system)) return $"'{Echo(root)}' is a system folder ({system})";
        foreach (var guarded in protectedPaths)
            if (IsAtOrUnder(root, guarded) || IsAtOrUnder(guarded.TrimEnd('/'), root))
                return $"'{Echo(root)}' overlaps a protected folder ({Echo(guarded)})";
        return null;
    }

    /// <summary>At most <see cref="EchoLength"/> characters of <paramref name="text"/>, for messages.</summary>
    public static string Echo(string? text) =>
        text is null ? "" : text.Length <= EchoLength ? text : string.Concat(text.AsSpan(0, EchoLength), "…");

    /// <summary><paramref name="path"/> equals <paramref name="folder"/> or lies under it, segment-wise.</summary>
    public static bool IsAtOrUnder(string path, string folder) =>
        path.StartsWith(folder, StringComparison.Ordinal)
        && (path.Length == folder.Length || folder.EndsWith('/') || path[folder.Length] == '/');

    private static string? FileProblem(string uri, IReadOnlyList<string> fileRoots, out string? path)
    {
        path = null;
        var rest = uri.AsSpan("file:".Length);
        if (!rest.StartsWith("//")) return "a file URI must be file:///absolute/path";
        rest = rest[2..];
        var slash = rest.IndexOf('/');
        if (slash < 0) return "a file URI must be file:///absolute/path";
        if (slash > 0 && !rest[..slash].Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return "a file URI must name no host (or localhost)";
        rest = rest[slash..];
        if (rest.IndexOfAny('?', '#') >= 0) return "a file URI has no query or fragment";
        if (Decode(rest, out path) is { } problem) return problem;
        if (path.Contains("//", StringComparison.Ordinal) || path.EndsWith('/')) return "the path has an empty segment";
        if (HasDotSegment(path)) return "the path has a '.' or '..' segment";
        foreach (var root in fileRoots)
            if (path.Length > root.Length && IsAtOrUnder(path, root))
                return null;
        return "the path is not under a data root of this installation";
    }

    private static string? S3Problem(string uri, out string? bucket, out string? key)
    {
        bucket = key = null;
        var rest = uri.AsSpan("s3:".Length);
        if (!rest.StartsWith("//")) return "an S3 URI must be s3://bucket/key";
        rest = rest[2..];
        var slash = rest.IndexOf('/');
        var name = slash < 0 ? rest : rest[..slash];
        if (name.Length is < 3 or > 63 || !IsLowerAlnum(name[0]) || !IsLowerAlnum(name[^1]) || name.Contains("..", StringComparison.Ordinal))
            return "the S3 bucket name is not valid";
        foreach (var c in name)
            if (!IsLowerAlnum(c) && c is not ('.' or '-')) return "the S3 bucket name is not valid";
        if (slash < 0 || slash == rest.Length - 1) return "the S3 URI has no key";
        var rawKey = rest[(slash + 1)..];
        if (rawKey.IndexOfAny('?', '#') >= 0) return "an S3 URI has no query or fragment";
        if (Decode(rawKey, out key) is { } problem) return problem;
        if (HasDotSegment("/" + key)) return "the S3 key has a '.' or '..' segment";
        bucket = name.ToString();
        return null;
    }

    private static string? GenerateProblem(ReadOnlySpan<char> rest)
    {
        if (!rest.StartsWith("//")) return "a generator URI must be generate://kind?name=value&…";
        rest = rest[2..];
        var query = rest.IndexOf('?');
        var kind = query < 0 ? rest : rest[..query];
        if (kind.Length is < 1 or > 63 || kind[0] is < 'a' or > 'z') return "the generator kind is not valid ([a-z][a-z0-9-]*)";
        foreach (var c in kind)
            if (!IsLowerAlnum(c) && c != '-') return "the generator kind is not valid ([a-z][a-z0-9-]*)";
        if (query < 0) return null;
        foreach (var pair in rest[(query + 1)..].Split('&'))
        {
            var text = rest[(query + 1)..][pair];
            var eq = text.IndexOf('=');
            if (eq <= 0 || eq == text.Length - 1 || !IsParameter(text[..eq]) || !IsParameter(text[(eq + 1)..]))
                return "a generator parameter is not name=value of [A-Za-z0-9_.-]";
        }
        return null;
    }

    private static bool IsParameter(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-')) return false;
        return true;
    }

    /// <summary>Percent-decodes strictly: well-formed escapes, valid UTF-8, and none of what the raw form may not
    /// carry either — control characters, whitespace, an encoded '/' or '\' (which would hide a segment) or a
    /// Unicode look-alike of them.</summary>
    private static string? Decode(ReadOnlySpan<char> raw, out string decoded)
    {
        decoded = "";
        Span<byte> bytes = raw.Length <= 512 ? stackalloc byte[raw.Length] : new byte[raw.Length];
        var n = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '%') { bytes[n++] = (byte)raw[i]; continue; }
            if (i + 2 >= raw.Length || !char.IsAsciiHexDigit(raw[i + 1]) || !char.IsAsciiHexDigit(raw[i + 2]))
                return "the URI has a malformed percent-escape";
            var b = byte.Parse(raw.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            if (b is (byte)'/' or (byte)'\\') return "the URI encodes a '/' or '\\'";
            bytes[n++] = b;
            i += 2;
        }
        try { decoded = StrictUtf8.GetString(bytes[..n]); }
        catch (DecoderFallbackException) { return "the URI encodes invalid UTF-8"; }
        foreach (var c in decoded)
            if (char.IsControl(c) || char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format
                || c is '\u2044' or '\u2215' or '\u29f8' or '\uff0f' or '\u2216' or '\u29f9' or '\uff3c')
                return "the URI encodes a control, whitespace, invisible or look-alike character";
        return null;
    }

    private static bool HasDotSegment(string path)
    {
        foreach (var segment in path.AsSpan().Split('/'))
            if (path.AsSpan()[segment] is "." or "..") return true;
        return false;
    }

    private static bool IsScheme(ReadOnlySpan<char> scheme)
    {
        if (!char.IsAsciiLetter(scheme[0])) return false;
        foreach (var c in scheme)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '-' or '.')) return false;
        return true;
    }

    private static bool IsLowerAlnum(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
}
