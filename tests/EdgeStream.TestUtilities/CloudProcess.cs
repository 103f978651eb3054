using System.Net.Http.Json;
using System.Text.Json;
using EdgeStream.Gateways;

namespace EdgeStream.TestUtilities;

/// <summary>The cloud service as a child process on free ports, with its HTTP and MQTT addresses read back.</summary>
public sealed class CloudProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly string _dataDir;

    private readonly bool _ownsDataDir;

    private CloudProcess(ChildProcess process, string dataDir, bool ownsDataDir, Uri http, int mqttPort)
    {
        _process = process;
        _dataDir = dataDir;
        _ownsDataDir = ownsDataDir;
        Http = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(30) };
        MqttPort = mqttPort;
    }

    /// <summary>Client for the portal/API.</summary>
    public HttpClient Http { get; }

    /// <summary>The embedded broker's port on 127.0.0.1 (0 when the plain listener is off).</summary>
    public int MqttPort { get; }

    /// <summary>The embedded broker's TLS port on 127.0.0.1 (0 when there is none).</summary>
    public int MqttsPort { get; private init; }

    /// <summary>The child process.</summary>
    public ChildProcess Process => _process;

    /// <summary>Password of every gateway <see cref="StartAsync"/> registers (user name = gateway id).</summary>
    public const string GatewayPassword = "test-secret";

    /// <summary>
    /// Publishes presence events as gateway <paramref name="gateway"/>'s batch <paramref name="sequence"/> (QoS 1,
    /// sealed at <paramref name="createdUs"/>, now by default) and asserts the broker took it.
    /// </summary>
    public static async Task PublishPresenceAsync(MQTTnet.IMqttClient client, string gateway, ulong sequence, IReadOnlyList<EdgeStream.Contracts.PresenceEvent> events, long? createdUs = null)
    {
        var batch = new EdgeStream.Contracts.Batch { GatewayId = gateway, Sequence = sequence, Class = EdgeStream.Contracts.DataClass.Presence, CreatedUs = createdUs ?? EdgeStream.Contracts.EventTimes.NowUs(), Events = [.. events] };
        var r = await client.PublishAsync(new MQTTnet.MqttApplicationMessageBuilder().WithTopic(EdgeStream.Contracts.Topics.For(gateway, EdgeStream.Contracts.TopicKind.Events)).WithPayload(EdgeStream.Contracts.Wire.BatchCodec.Encode(batch))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Xunit.Assert.True(r.IsSuccess, r.ReasonString);
    }

    /// <summary>An MQTT client connected to the cloud's broker on <paramref name="mqttPort"/> as gateway <paramref name="gatewayId"/>, with <see cref="GatewayPassword"/>.</summary>
    public static async Task<MQTTnet.IMqttClient> ConnectGatewayAsync(int mqttPort, string gatewayId)
    {
        var client = new MQTTnet.MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mqttPort)
            .WithClientId(gatewayId).WithCredentials(gatewayId, GatewayPassword).Build());
        return client;
    }

    /// <summary>The cloud's data folder (event log, ingest state).</summary>
    public string DataDir => _dataDir;

    /// <summary>
    /// Starts the cloud with <c>--urls http://127.0.0.1:0 --mqtt 127.0.0.1:0</c>, the given gateways
    /// registered with <see cref="GatewayPassword"/>, and waits for both addresses.
    /// </summary>
    public static Task<CloudProcess> StartAsync(string[] gateways, params string[] extraArgs) =>
        StartCoreAsync(Directory.CreateTempSubdirectory("edgestream-cloud-").FullName, true, gateways, 0, extraArgs);

    /// <summary>
    /// As <see cref="StartAsync"/>, on a data folder the caller owns and keeps (for restarts), with the
    /// broker on <paramref name="mqttPort"/> so gateways find it again after a restart.
    /// </summary>
    public static Task<CloudProcess> StartInAsync(string dataDir, string[] gateways, int mqttPort, params string[] extraArgs) =>
        StartCoreAsync(dataDir, false, gateways, mqttPort, extraArgs);

    private static async Task<CloudProcess> StartCoreAsync(string dataDir, bool ownsDataDir, string[] gateways, int mqttPort, string[] extraArgs)
    {
        var credentials = Path.Combine(dataDir, "gateways.json");
        var hash = EdgeStream.Gateways.GatewayPasswords.Hash(GatewayPassword, 1000);
        await File.WriteAllTextAsync(credentials, JsonSerializer.Serialize(new
        {
            gateways = gateways.Select(g => new { gatewayId = g, passwordHash = hash }),
        }));
        var child = ChildProcess.StartDotnet(
            "edgestream-cloud.dll",
            ["--urls", "http://127.0.0.1:0", "--mqtt", $"127.0.0.1:{mqttPort}", "--data-dir", dataDir, "--gateways", credentials, .. extraArgs]);
        try
        {
            await child.WaitForLineAsync("^cloud: ready$", TimeSpan.FromSeconds(60));
            var portal = await child.WaitForLineAsync(@"^cloud: portal (http://\S+/)", TimeSpan.Zero);
            var mqtt = System.Text.RegularExpressions.Regex.Match(child.Output, @"(?m)^cloud: mqtt 127\.0\.0\.1:(\d+)");
            var mqtts = System.Text.RegularExpressions.Regex.Match(child.Output, @"(?m)^cloud: mqtts 127\.0\.0\.1:(\d+)");
            return new CloudProcess(child, dataDir, ownsDataDir, new Uri(portal.Groups[1].Value), Port(mqtt)) { MqttsPort = Port(mqtts) };
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
    }

    private static int Port(System.Text.RegularExpressions.Match m) =>
        m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;

    /// <summary>GET a JSON array.</summary>
    public async Task<JsonElement[]> GetArrayAsync(string path)
    {
        // Lists answer {"items": [...], "next": cursor}: follow the cursors to the end.
        var first = await Http.GetFromJsonAsync<JsonElement>(path);
        if (first.ValueKind == JsonValueKind.Array)
        {
            return [.. first.EnumerateArray()];
        }

        var items = first.GetProperty("items").EnumerateArray().ToList();
        var next = first.GetProperty("next");
        while (next.ValueKind == JsonValueKind.String)
        {
            // The caller's limit, if it gave one, holds for every page.
            var limit = path.Contains("limit=", StringComparison.Ordinal) ? string.Empty : "limit=1000&";
            var page = await Http.GetFromJsonAsync<JsonElement>(path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + limit + "cursor=" + Uri.EscapeDataString(next.GetString()!));
            items.AddRange(page.GetProperty("items").EnumerateArray());
            next = page.GetProperty("next");
        }

        return [.. items];
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.DisposeAsync();
        if (!_ownsDataDir)
        {
            return;
        }

        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
