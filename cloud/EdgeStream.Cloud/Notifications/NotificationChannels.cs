using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeStream.Cloud.Http;
using EdgeStream.Contracts;
using EdgeStream.Tracking.Storage;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeStream.Cloud.Notifications;

/// <summary>Somewhere notifications go, one at a time, in order.</summary>
public interface INotificationChannel : IAsyncDisposable
{
    /// <summary>The channel's name: its delivery cursor and dead letters are kept under it.</summary>
    string Name { get; }

    /// <summary>Delivers one notification (<paramref name="body"/> is its JSON).</summary>
    /// <exception cref="DeliveryFailedException">Not delivered; <see cref="DeliveryFailedException.Permanent"/> when trying again cannot help.</exception>
    Task SendAsync(Notification notification, byte[] body, CancellationToken cancellationToken);
}

/// <summary>A notification was not delivered; a permanent failure (the receiver refused it) is not retried.</summary>
public sealed class DeliveryFailedException(string message, bool permanent, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Trying again cannot help (the receiver answered 4xx other than 408 and 429).</summary>
    public bool Permanent { get; } = permanent;
}

/// <summary>What a notification says, as JSON: the same bytes for every attempt and every channel.</summary>
public static class NotificationPayload
{
    /// <summary>The JSON of <paramref name="n"/>.</summary>
    public static byte[] Serialize(Notification n) => JsonSerializer.SerializeToUtf8Bytes(
        new
        {
            id = n.Key,
            type = n.Type,
            time = EventTimes.ToIso(n.AtUs),
            alert = new
            {
                id = n.AlertId,
                rule = n.RuleId,
                asset = n.AssetId,
                epc = n.Epc,
                state = n.State,
                severity = n.Severity,
                message = n.Message,
                status = n.Status,
                level = n.Level,
                raised = EventTimes.ToIso(n.RaisedUs),
            },
            step = new { step = n.Step, at = EventTimes.ToIso(n.AtUs), by = n.Actor, reason = n.Reason },
        },
        CloudApi.Json);
}

/// <summary>
/// Posts each notification as JSON to a receiver. Headers: <c>Idempotency-Key</c> (stable per
/// notification), <c>X-EdgeStream-Event</c> (its type), <c>X-EdgeStream-Timestamp</c> (Unix seconds) and
/// <c>X-EdgeStream-Signature: sha256=HEX</c>, the HMAC-SHA256 with the shared secret of
/// <c>{timestamp}.{body}</c>, so that a receiver can check who sent it and refuse a replay of an old one.
/// A 2xx answer is delivery; 408, 429, 5xx and network errors are tried again; any other answer is final.
/// </summary>
public sealed class WebhookChannel(WebhookSettings settings, HttpClient http, TimeProvider time) : INotificationChannel
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "X-EdgeStream-Signature";

    /// <summary>The timestamp header, part of what is signed.</summary>
    public const string TimestampHeader = "X-EdgeStream-Timestamp";

    private readonly byte[] _secret = Encoding.UTF8.GetBytes(settings.Secret);

    /// <inheritdoc />
    public string Name => "webhook:" + settings.Name;

    /// <summary>The signature of <paramref name="body"/> sent at <paramref name="timestamp"/>: <c>sha256=</c> and the lower-case hex HMAC-SHA256 of <c>{timestamp}.{body}</c>.</summary>
    public static string Sign(byte[] secret, string timestamp, byte[] body)
    {
        var signed = new byte[timestamp.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(timestamp, signed);
        signed[timestamp.Length] = (byte)'.';
        body.CopyTo(signed, timestamp.Length + 1);
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(secret, signed));
    }

    /// <inheritdoc />
    public async Task SendAsync(Notification notification, byte[] body, CancellationToken cancellationToken)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("Idempotency-Key", notification.Key);
        request.Headers.Add("X-EdgeStream-Event", notification.Type);
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(_secret, timestamp, body));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new DeliveryFailedException($"{settings.Url.GetLeftPart(UriPartial.Authority)} cannot be reached: {ex.Message}", permanent: false, ex);
        }

        using (response)
        {
            var code = (int)response.StatusCode;
            if (code is >= 200 and < 300)
            {
                return;
            }

            var transient = code >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            throw new DeliveryFailedException($"{settings.Url} answered {code} {response.ReasonPhrase}", permanent: !transient);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Publishes each notification with QoS 1 to <c>{prefix}/{asset}</c> on a broker, connecting (again) when
/// needed. The message carries the same JSON as a webhook, and its key as the MQTT 5 user property
/// <c>idempotency-key</c>.
/// </summary>
public sealed class MqttChannel(Uri broker, string prefix) : INotificationChannel
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly SemaphoreSlim _connecting = new(1, 1);

    /// <inheritdoc />
    public string Name => "mqtt:" + broker.Host + ":" + broker.Port + "/" + prefix;

    /// <inheritdoc />
    public async Task SendAsync(Notification notification, byte[] body, CancellationToken cancellationToken)
    {
        try
        {
            await ConnectAsync(cancellationToken);
            var message = new MqttApplicationMessageBuilder()
                .WithTopic($"{prefix}/{notification.AssetId}")
                .WithPayload(new ReadOnlySequence<byte>(body))
                .WithContentType("application/json")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithUserProperty("idempotency-key", Encoding.UTF8.GetBytes(notification.Key))
                .Build();
            var result = await _client.PublishAsync(message, cancellationToken);
            if (!result.IsSuccess)
            {
                throw new DeliveryFailedException($"the broker refused the notification: {result.ReasonCode} {result.ReasonString}", permanent: false);
            }
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException)
        {
            throw new DeliveryFailedException($"the broker {broker.Host}:{broker.Port} cannot be reached: {ex.Message}", permanent: false, ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
        _connecting.Dispose();
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        if (_client.IsConnected)
        {
            return;
        }

        await _connecting.WaitAsync(ct);
        try
        {
            if (_client.IsConnected)
            {
                return;
            }

            var options = new MqttClientOptionsBuilder()
                .WithTcpServer(broker.Host, broker.Port < 0 ? (broker.Scheme == "mqtts" ? 8883 : 1883) : broker.Port)
                .WithClientId("edgestream-notifications-" + Environment.ProcessId)
                .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
                .WithTimeout(TimeSpan.FromSeconds(10));
            if (broker.UserInfo.Split(':', 2) is [var user, var password] && user.Length > 0)
            {
                options = options.WithCredentials(Uri.UnescapeDataString(user), Uri.UnescapeDataString(password));
            }

            if (broker.Scheme == "mqtts")
            {
                options = options.WithTlsOptions(o => o.UseTls());
            }

            var connected = await _client.ConnectAsync(options.Build(), ct);
            if (connected.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new DeliveryFailedException($"the broker refused the connection: {connected.ResultCode}", permanent: false);
            }
        }
        finally
        {
            _connecting.Release();
        }
    }
}
