using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeStream.Gateways;
using EdgeStream.Ingest;
using MQTTnet;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Embedded_broker_accepts_gateways_over_tls : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_gateway_connects_over_tls_with_a_password_or_a_pinned_client_certificate_and_plain_tcp_is_off()
    {
        var serverPfx = Path.Combine(_dir.Path, "server.pfx");
        await File.WriteAllBytesAsync(serverPfx, SelfSigned("CN=edgestream-cloud").Export(X509ContentType.Pkcs12, "pfx-pass"));
        using var clientCert = X509CertificateLoader.LoadPkcs12(SelfSigned("CN=gw-cert").Export(X509ContentType.Pkcs12, "c"), "c");
        var tlsPort = Net.FreePort();
        var tls = new IngestTlsOptions { CertificatePath = serverPfx, CertificatePassword = "pfx-pass", Port = tlsPort, RequestClientCertificate = true };
        var hash = GatewayPasswords.Hash(EmbeddedBrokerHarness.Password, 1000);
        await using var h = await EmbeddedBrokerHarness.StartAsync(
            credentials:
            [
                new GatewayCredential { GatewayId = "gw-pass", PasswordHash = hash },
                new GatewayCredential { GatewayId = "gw-cert", CertificateThumbprint = clientCert.GetCertHashString(HashAlgorithmName.SHA256) },
            ],
            configure: (b, creds) => tls.Apply(b, creds));

        MqttClientOptionsBuilder Options(string id) => new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", tlsPort)
            .WithClientId(id)
            .WithTimeout(TimeSpan.FromSeconds(30))
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500);

        using (var byPassword = new MqttClientFactory().CreateMqttClient())
        {
            await byPassword.ConnectAsync(Options("gw-pass")
                .WithCredentials("gw-pass", EmbeddedBrokerHarness.Password)
                .WithTlsOptions(o => o.UseTls().WithCertificateValidationHandler(_ => true))
                .Build());
            var r = await byPassword.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-pass", 1, 3)));
            Assert.Equal(MqttClientPublishReasonCode.Success, r.ReasonCode);
        }

        using (var byCertificate = new MqttClientFactory().CreateMqttClient())
        {
            await byCertificate.ConnectAsync(Options("gw-cert")
                .WithTlsOptions(o => o.UseTls().WithCertificateValidationHandler(_ => true).WithClientCertificates([clientCert]))
                .Build());
            var r = await byCertificate.PublishAsync(TestBatches.BatchMessage(TestBatches.Reads("gw-cert", 1, 2)));
            Assert.Equal(MqttClientPublishReasonCode.Success, r.ReasonCode);
        }

        Assert.Equal(5, await h.LogEndAsync());

        // Without TLS nothing listens on the plain port.
        using var plain = new MqttClientFactory().CreateMqttClient();
        await Assert.ThrowsAnyAsync<Exception>(() => plain.ConnectAsync(h.ClientOptions("gw-pass").Build()));
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }
}
