using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace EventMlOps.Training.Tests.Testing;

public sealed record TrackingRequest(string Method, string Path, string? Authorization, JsonElement Body);

/// <summary>A real HTTP server on a free local port that records what a trainer logs and answers with a chosen
/// status (an MLflow-shaped tracking API stand-in for the control plane).</summary>
public sealed class TrackingServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public TrackingServer(HttpStatusCode status = HttpStatusCode.OK)
    {
        Status = status;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Uri = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(Uri);
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public string Uri { get; }
    public HttpStatusCode Status { get; set; }
    public ConcurrentQueue<TrackingRequest> Requests { get; } = new();

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            Requests.Enqueue(new TrackingRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath,
                context.Request.Headers["Authorization"], JsonDocument.Parse(body).RootElement.Clone()));
            context.Response.StatusCode = (int)Status;
            await using (var writer = new StreamWriter(context.Response.OutputStream)) await writer.WriteAsync(Status == HttpStatusCode.OK ? "{}" : """{"error_code":"INTERNAL_ERROR"}""");
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
