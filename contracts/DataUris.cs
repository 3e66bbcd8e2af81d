namespace EventMlOps.Contracts.Artifacts;

/// <summary>Which data URIs the platform reads: checked at registration by the control plane and again by every reader.
/// Schemes <c>file</c>, <c>s3</c> and <c>generate</c> only (never http: no server-side fetches); at most 2 KiB; no control
/// characters, raw or percent-encoded; a <c>file</c> path absolute, normalised (no <c>.</c>/<c>..</c> segments, no encoded
/// separators) and never under a protected path (the keys, the database, system folders) — and, when data roots are
/// configured, under one of them. Reasons never echo more than a short prefix of the input.</summary>
public static class DataUris
{
    public const int MaxLength = 2048;

    /// <summary>System folders no dataset is ever read from, whatever the configuration.</summary>
    public static readonly IReadOnlyList<string> SystemPaths = ["/proc", "/sys", "/dev", "/etc", "/boot", "/root", "/run", "/var/lib/postgresql"];

    public static string? Problem(string? uri, IReadOnlyList<string> roots, IReadOnlyList<string> protectedPaths)
    {
        if (string.IsNullOrWhiteSpace(uri)) return "is required";
        if (uri.Length > MaxLength) return $"is {uri.Length} characters long; at most {MaxLength} are accepted";
        if (uri.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))) return "contains control characters or spaces";
        var colon = uri.IndexOf("://", StringComparison.Ordinal);
        var scheme = colon > 0 ? uri[..colon].ToLowerInvariant() : "";
        if (scheme is not ("file" or "s3" or "generate"))
            return $"scheme '{(scheme.Length is > 0 and <= 16 ? scheme : "?")}' is not accepted: use file://, s3:// or generate://";
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed)) return "is not a valid URI";
        var decoded = Uri.UnescapeDataString(parsed.AbsolutePath);
        if (decoded.Any(char.IsControl) || uri.Contains("%2f", StringComparison.OrdinalIgnoreCase) || uri.Contains("%5c", StringComparison.OrdinalIgnoreCase)
            || uri.Contains('\\'))
            return "contains encoded separators or control characters";
        var segments = uri[(colon + 3)..].Split('?')[0].Split('/');
        var authority = segments[0]; // as written: Uri lower-cases hosts
        if (segments.Skip(1).Any(s => Uri.UnescapeDataString(s) is "." or ".."))
            return "contains '.' or '..' segments";
        switch (scheme)
        {
            case "file":
                if (parsed.Host is not ("" or "localhost")) return "a file:// URI names no other host";
                if (decoded.Contains("//", StringComparison.Ordinal)) return "a file path must be normalised";
                if (protectedPaths.Concat(SystemPaths).Any(p => Under(decoded, p))) return "names a protected location (keys, database or system files)";
                if (roots.Count > 0 && !roots.Any(r => Under(decoded, r))) return "is not under a configured data root (Datasets:Roots)";
                return null;
            case "s3":
                return authority.Length is >= 3 and <= 63 && authority.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-')
                       && decoded.Trim('/').Length > 0
                    ? null
                    : "an s3:// URI needs a bucket (3-63 lowercase letters, digits, '.', '-') and a key";
            default:
                return authority.Length is > 0 and <= 63 && authority.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
                    ? null
                    : "a generate:// URI names a trainer kind";
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or inside it, segment-wise.</summary>
    public static bool Under(string path, string folder)
    {
        var f = folder.TrimEnd('/');
        return f.Length == 0 || path == f || path.StartsWith(f + "/", StringComparison.Ordinal);
    }
}
