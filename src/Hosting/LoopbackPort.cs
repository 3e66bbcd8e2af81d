using System.Net;
using System.Net.Sockets;

namespace EventMlOps.Hosting;

/// <summary>A TCP port on 127.0.0.1 for a local process: the <c>preferred</c> one while it is free (so that addresses
/// stay stable across restarts), else any free one. Check-then-use: a caller whose process then fails to bind retries.</summary>
public static class LoopbackPort
{
    public static int Choose(int? preferred = null) => preferred is { } p && p > 0 && IsFree(p) ? p : Any();

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int Any()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }
}
