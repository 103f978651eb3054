using System.Net.Http.Json;
using EdgeStream.Gateways;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// <c>GET /api/gateways</c> on a process without ingest: the gateways are connected to the ingest
/// processes, so it asks each of them and merges the answers. A gateway that moved between ingest
/// processes is shown once, as the one that saw it last reports it; a node that does not answer within
/// 3 s is logged and left out, and the others are still shown.
/// </summary>
internal static class IngestNodes
{
    private static readonly HttpClient Client = new() { Timeout = TimeSpan.FromSeconds(3) };

    public static async Task<IReadOnlyList<GatewayView>> GatewaysAsync(IReadOnlyList<Uri> nodes, ILogger logger, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(nodes.Select(async node =>
        {
            try
            {
                return await Client.GetFromJsonAsync<List<GatewayView>>(new Uri(node, "/api/gateways"), CloudApi.Json, cancellationToken) ?? [];
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Ingest node {Node} did not answer /api/gateways ({Error}); its gateways are not shown.", node, ex.Message);
                return [];
            }
        }));
        return [.. answers
            .SelectMany(a => a)
            .GroupBy(g => g.GatewayId, StringComparer.Ordinal)
            .Select(g => g.OrderByDescending(v => v.LastSeen ?? DateTime.MinValue).First())
            .OrderBy(g => g.GatewayId, StringComparer.Ordinal)];
    }
}
