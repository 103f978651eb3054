using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Gateways;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The cloud process's embedded broker on TLS only (<c>--mqtts … --mqtt off</c>): a gateway gets in
/// with its password over TLS, another with a client certificate pinned by thumbprint in the
/// gateways file, an unpinned certificate is refused, and both gateways' batches reach the asset view.
/// </summary>
[Trait("Capability", "Ingest")]
public sealed class The_cloud_accepts_gateways_over_tls : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgestream-cloudtls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Password_and_pinned_certificate_gateways_connect_over_tls_and_nothing_listens_in_plain()
    {
        var serverPfx = Path.Combine(_dir, "server.pfx");
        await File.WriteAllBytesAsync(serverPfx, SelfSigned("CN=edgestream-cloud").Export(X509ContentType.Pkcs12, "pfx-pass"));
        using var pinned = X509CertificateLoader.LoadPkcs12(SelfSigned("CN=gw-cert").Export(X509ContentType.Pkcs12, "c"), "c");
        using var stranger = X509CertificateLoader.LoadPkcs12(SelfSigned("CN=gw-cert").Export(X509ContentType.Pkcs12, "c"), "c");

        var cloudDir = Directory.CreateDirectory(Path.Combine(_dir, "cloud")).FullName;
        var hash = EdgeStream.Gateways.GatewayPasswords.Hash(CloudProcess.GatewayPassword, 1000);
        var gateways = Path.Combine(_dir, "gateways-tls.json");
        await File.WriteAllTextAsync(gateways, JsonSerializer.Serialize(new
        {
            gateways = new object[]
            {
                new { gatewayId = "gw-pass", passwordHash = hash },
                new { gatewayId = "gw-cert", certificateThumbprint = pinned.GetCertHashString(HashAlgorithmName.SHA256) },
            },
        }));
        await using var cloud = await CloudProcess.StartAsync([],
            "--gateways", gateways, "--mqtt", "off", "--mqtts", "127.0.0.1:0", "--mqtts-cert", serverPfx, "--mqtts-cert-password", "pfx-pass");
        Assert.Equal(0, cloud.MqttPort);
        Assert.NotEqual(0, cloud.MqttsPort);

        MqttClientOptionsBuilder Tls(string id, X509Certificate2? cert) => new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", cloud.MqttsPort).WithClientId(id).WithTimeout(TimeSpan.FromSeconds(30))
            .WithTlsOptions(o =>
            {
                o.UseTls().WithCertificateValidationHandler(_ => true);
                if (cert is not null)
                {
                    o.WithClientCertificates([cert]);
                }
            });

        using (var byPassword = new MqttClientFactory().CreateMqttClient())
        {
            await byPassword.ConnectAsync(Tls("gw-pass", null).WithCredentials("gw-pass", CloudProcess.GatewayPassword).Build());
            Assert.Equal(MqttClientPublishReasonCode.Success, (await byPassword.PublishAsync(Arrive("gw-pass", "E20000000000000000000A01"))).ReasonCode);
        }

        using (var byCertificate = new MqttClientFactory().CreateMqttClient())
        {
            await byCertificate.ConnectAsync(Tls("gw-cert", pinned).Build());
            Assert.Equal(MqttClientPublishReasonCode.Success, (await byCertificate.PublishAsync(Arrive("gw-cert", "E20000000000000000000A02"))).ReasonCode);
        }

        using (var unpinned = new MqttClientFactory().CreateMqttClient())
        {
            await Assert.ThrowsAnyAsync<Exception>(() => unpinned.ConnectAsync(Tls("gw-cert", stranger).Build()));
        }

        var zones = await Eventually.GetAsync(async () =>
        {
            var assets = await cloud.GetArrayAsync("/api/assets");
            return assets.Length == 2 ? assets.Select(a => a.GetProperty("gatewayId").GetString()!).Order().ToArray() : null;
        }, TimeSpan.FromSeconds(30), "both gateways' assets");
        Assert.Equal(new[] { "gw-cert", "gw-pass" }, zones);
    }

    private static MqttApplicationMessage Arrive(string gateway, string epc)
    {
        var e = new PresenceEvent { Epc = Epc.ParseHex(epc), Kind = PresenceKind.Arrive, Zone = "ward", EventTimeUs = EventTimes.NowUs(), ReadCount = 3 };
        return new MqttApplicationMessageBuilder()
            .WithTopic(Topics.For(gateway, TopicKind.Events))
            .WithPayload(BatchCodec.Encode(new Batch { GatewayId = gateway, Sequence = 1, Class = DataClass.Presence, CreatedUs = e.EventTimeUs, Events = [e] }))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }
}
