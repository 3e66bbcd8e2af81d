using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventMlOps.Cli.Tests.Testing;

/// <summary>A real HTTP hop in front of the control plane that forwards every request and, once the first GET whose path ends
/// with the given suffix has its answer, runs <c>between</c> before passing that answer on: how a test lands someone else's
/// change between a client's read and the write it bases on it.</summary>
public sealed class Interposer(WebApplication app, string url) : IAsyncDisposable
{
    public string Url { get; } = url;

    public static async Task<Interposer> StartAsync(string target, string suffix, Func<Task> between)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var http = new HttpClient { BaseAddress = new Uri(target) };
        var interposed = 0;
        app.Run(async ctx =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), ctx.Request.Path + ctx.Request.QueryString);
            if (ctx.Request.ContentLength > 0)
            {
                using var body = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(body);
                request.Content = new ByteArrayContent(body.ToArray());
            }
            foreach (var (name, values) in ctx.Request.Headers)
                if (name != "Host" && !request.Headers.TryAddWithoutValidation(name, values.ToArray()))
                    request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            using var response = await http.SendAsync(request);
            if (HttpMethods.IsGet(ctx.Request.Method) && ctx.Request.Path.Value!.EndsWith(suffix, StringComparison.Ordinal) && Interlocked.Exchange(ref interposed, 1) == 0)
                await between();
            ctx.Response.StatusCode = (int)response.StatusCode;
            ctx.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await response.Content.CopyToAsync(ctx.Response.Body);
        });
        await app.StartAsync();
        return new Interposer(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
