using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Server;

namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>
/// Mutual TLS: the broker requires a client certificate signed by the fleet CA; the uplink presents
/// the gateway's certificate and key (PEM files, as an installer drops them) and delivers; without
/// one the TLS handshake is refused and nothing leaves the outbox.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_uplink_authenticates_with_a_client_certificate : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("es-mtls-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task The_gateway_certificate_is_presented_and_accepted()
    {
        using var caKey = RSA.Create(2048);
        using var ca = MakeCa(caKey);
        using var serverCert = MakeLeaf(ca, caKey, "localhost", server: true, out _);
        using var clientCert = MakeLeaf(ca, caKey, "gw-mtls", server: false, out var clientKey);
        var caFile = Path.Combine(_dir, "ca.pem");
        var certFile = Path.Combine(_dir, "gw.crt");
        var keyFile = Path.Combine(_dir, "gw.key");
        await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(certFile, clientCert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, clientKey.ExportPkcs8PrivateKeyPem());
        clientKey.Dispose();

        var port = FreePort.Pick();
        var presented = 0;
        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
            .WithEncryptedEndpointPort(port)
            .WithEncryptionCertificate(serverCert)
            .WithClientCertificate((_, cert, _, _) =>
            {
                var ok = cert is not null && cert.Issuer == ca.Subject;
                if (ok)
                {
                    Interlocked.Increment(ref presented);
                }

                return ok;
            }, false)
            .Build();
        using var server = new MqttServerFactory().CreateMqttServer(options);
        var received = 0L;
        server.InterceptingPublishAsync += e =>
        {
            if (e.ApplicationMessage.Topic.EndsWith("/reads", StringComparison.Ordinal))
            {
                Interlocked.Add(ref received, EdgeStream.Contracts.Wire.BatchCodec.Decode(e.ApplicationMessage.Payload).Count);
            }

            return Task.CompletedTask;
        };
        await server.StartAsync();
        try
        {
            var broker = new Uri($"mqtts://localhost:{port}");
            await using (var anonymous = new EdgeUnderTest(broker, tweak: o => o with { CaFile = caFile }))
            {
                await anonymous.AppendAsync(0, 10);
                await Wait.Until(() => anonymous.Log.Contains("attempt 2"), "repeated refused handshakes");
                Assert.False(anonymous.Uplink.IsConnected);
                Assert.Equal(10, anonymous.Outbox.BufferedReads);
            }

            await using var edge = new EdgeUnderTest(broker, tweak: o => o with { CaFile = caFile, ClientCertFile = certFile, ClientKeyFile = keyFile });
            await edge.AppendAsync(0, 1000);
            await Wait.Until(() => Interlocked.Read(ref received) == 1000, "1000 reads over mutual TLS", detail: () => string.Join('\n', edge.Log.Lines));
            Assert.True(presented > 0);
        }
        finally
        {
            await server.StopAsync();
        }
    }

    private static X509Certificate2 MakeCa(RSA key)
    {
        var req = new CertificateRequest("CN=EdgeStream Fleet CA", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 MakeLeaf(X509Certificate2 ca, RSA caKey, string name, bool server, out RSA key)
    {
        key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(name);
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
        }

        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        var generator = X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1);
        using var signed = req.Create(ca.SubjectName, generator, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
