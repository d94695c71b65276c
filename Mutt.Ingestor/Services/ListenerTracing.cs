using System.Diagnostics;
using System.Net;
using Mutt.Core.Telemetry;

namespace Mutt.Ingestor.Services;

/// <summary>The syslog and SNMP listeners' span: events read off the network start their trace here.</summary>
internal static class ListenerTracing
{
    /// <summary>A root Server span for one frame or read; null (and free) when nothing listens.</summary>
    public static Activity? StartReceive(string name, KeyValuePair<string, object?> transport, IPEndPoint? remote)
    {
        if (!MuttTracing.Ingestor.HasListeners())
        {
            return null;
        }
        // Nothing upstream carries a trace context: each frame is a new trace, never a child of the previous one.
        Activity.Current = null;
        var activity = MuttTracing.Ingestor.StartActivity(name, ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("network.transport", transport.Value);
            activity.SetTag("client.address", remote?.Address.ToString());
            activity.SetTag("client.port", remote?.Port);
        }
        return activity;
    }
}
