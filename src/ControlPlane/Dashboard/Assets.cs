using System.Security.Cryptography;

namespace EventMlOps.ControlPlane.Dashboard;

/// <summary>The dashboard's own stylesheet, script and icon, compiled into the control plane (Dashboard/Assets): nothing is
/// fetched from anywhere else, so it works offline and the Content-Security-Policy can name 'self' only.</summary>
public static class Assets
{
    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);

    private static readonly IReadOnlyDictionary<string, Asset> Files = new[] { ("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("icon.svg", "image/svg+xml") }
        .ToDictionary(f => f.Item1, f =>
        {
            using var stream = typeof(Assets).Assembly.GetManifestResourceStream($"dashboard/{f.Item1}")
                ?? throw new InvalidOperationException($"the dashboard's {f.Item1} is not embedded in the control plane");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            return new Asset(bytes, f.Item2, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        });

    public static IResult Serve(string file, HttpContext http)
    {
        if (!Files.TryGetValue(file, out var asset)) return Results.NotFound();
        http.Response.Headers.ETag = asset.ETag;
        http.Response.Headers.CacheControl = "no-cache"; // kept, and revalidated by its ETag
        if (http.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(304);
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }
}
