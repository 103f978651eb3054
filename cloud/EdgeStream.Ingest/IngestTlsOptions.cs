using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Server;
using EdgeStream.Gateways;

namespace EdgeStream.Ingest;

/// <summary>TLS for the embedded broker. Immutable; validated when applied.</summary>
public sealed record IngestTlsOptions
{
    /// <summary>Server certificate: a PKCS#12 (.pfx/.p12) file, or a PEM certificate with <see cref="KeyPath"/>. Required.</summary>
    public required string CertificatePath { get; init; }

    /// <summary>PEM private key, when <see cref="CertificatePath"/> is PEM.</summary>
    public string? KeyPath { get; init; }

    /// <summary>Password of the PKCS#12 file, if any.</summary>
    public string? CertificatePassword { get; init; }

    /// <summary>TLS port (8883 is the MQTT-over-TLS convention; 0 is not allowed: the broker cannot report a chosen port).</summary>
    public int Port { get; init; } = 8883;

    /// <summary>Ask gateways for a client certificate; accepted only if its thumbprint is configured for some gateway.</summary>
    public bool RequestClientCertificate { get; init; }

    /// <summary>Keep the plain-TCP endpoint too (for loopback or a private network only).</summary>
    public bool AllowPlainText { get; init; }

    /// <summary>Loads the server certificate.</summary>
    /// <exception cref="ArgumentException">Bad port or unreadable certificate; the message names the key.</exception>
    public X509Certificate2 LoadCertificate()
    {
        if (Port is < 1 or > 65535)
        {
            throw new ArgumentException($"IngestTlsOptions.Port {Port} is outside 1..65535.", nameof(Port));
        }

        try
        {
            return KeyPath is null
                ? X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, CertificatePassword)
                : X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"IngestTlsOptions.CertificatePath '{CertificatePath}' could not be loaded: {ex.Message}", nameof(CertificatePath), ex);
        }
    }

    /// <summary>Configures the broker's TLS endpoint (and drops the plain one unless <see cref="AllowPlainText"/>).</summary>
    public MqttServerOptionsBuilder Apply(MqttServerOptionsBuilder builder, GatewayCredentialStore credentials)
    {
        var certificate = LoadCertificate();
        builder = builder
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointPort(Port)
            .WithEncryptionCertificate(certificate)
            .WithEncryptionSslProtocol(SslProtocols.Tls12 | SslProtocols.Tls13);
        if (RequestClientCertificate)
        {
            // Gateways use self-issued certificates pinned by thumbprint, so the chain is not what
            // decides: the thumbprint is. Connections without a certificate may still use a password.
            builder = builder.WithClientCertificate((_, cert, _, _) => cert is null || credentials.IsKnownCertificate(cert), false);
        }

        return AllowPlainText ? builder : builder.WithoutDefaultEndpoint();
    }
}
