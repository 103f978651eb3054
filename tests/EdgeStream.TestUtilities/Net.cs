using System.Net;
using System.Net.Sockets;

namespace EdgeStream.TestUtilities;

/// <summary>Loopback ports.</summary>
public static class Net
{
    /// <summary>
    /// A free loopback port for servers that cannot report the port they bound (MQTTnet's server, a
    /// Mosquitto config file): bind 0, read it back, release it.
    /// </summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
