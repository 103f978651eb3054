using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeStream.EventLog.Embedded;
using EdgeStream.Ingest;
using MQTTnet;
using MQTTnet.Formatter;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class External_broker_ingest_connects_over_tls
{
    [Fact]
    public async Task Ingest_reaches_mosquitto_over_mqtts_trusting_the_configured_ca()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string? caPath = null;
        using var mosquitto = await MosquittoProcess.StartAsync(dir =>
        {
            caPath = Path.Combine(dir, "ca.pem");
            File.WriteAllText(caPath, cert.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir, "server.pem"), cert.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir, "server.key"), key.ExportPkcs8PrivateKeyPem());
            return $"certfile {Path.Combine(dir, "server.pem")}\nkeyfile {Path.Combine(dir, "server.key")}";
        });

        using var dir = new TempDirectory();
        await using var log = EmbeddedEventLog.Open(new EmbeddedLogOptions { Directory = Path.Combine(dir.Path, "log"), Partitions = 2 });
        using var pipeline = await IngestPipeline.OpenAsync(new IngestOptions { StateDirectory = Path.Combine(dir.Path, "ingest") }, log);
        var untrusting = ExternalBrokerOptions.Parse($"mqtts://127.0.0.1:{mosquitto.Port}") with { ClientId = "cloud-ingest-untrusting" };
        await using (var refused = new ExternalBrokerIngest(untrusting, pipeline))
        {
            // Without the CA the broker's certificate is not trusted: start-up keeps retrying until cancelled.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => refused.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token));
            Assert.False(refused.IsConnected);
        }

        var options = ExternalBrokerOptions.Parse($"mqtts://127.0.0.1:{mosquitto.Port}") with { CaCertificatePath = caPath, ClientId = "cloud-ingest-tls" };
        await using var ingest = new ExternalBrokerIngest(options, pipeline);
        await ingest.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(ingest.IsConnected);

        using var gateway = new MqttClientFactory().CreateMqttClient();
        await gateway.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mosquitto.Port).WithClientId("gw-tls")
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30))
            .WithTlsOptions(o => o.UseTls().WithCertificateValidationHandler(_ => true)).Build());
        await gateway.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-tls", 1, 7)));
        await Eventually.TrueAsync(() => Task.FromResult(pipeline.HasSeen("gw-tls", 1)), TimeSpan.FromSeconds(30), "the batch over TLS to be ingested");
        Assert.Equal(7, (await log.GetOffsetsAsync(0)).End + (await log.GetOffsetsAsync(1)).End);
    }
}
