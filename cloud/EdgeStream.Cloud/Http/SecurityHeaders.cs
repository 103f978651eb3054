namespace EdgeStream.Cloud.Http;

/// <summary>
/// Security headers on every HTTP answer of the service, the API's as well as the portal's: a strict
/// Content-Security-Policy (everything from the service itself, no inline script or style, no framing,
/// no plugins), no MIME sniffing, no referrer, no cross-origin window access, and no powerful browser
/// features. HSTS only on HTTPS, where it means something.
/// </summary>
/// <remarks>
/// The portal loads its script and style sheet from <c>/portal/</c> and talks to the API and its live
/// stream on the same origin, so the policy allows exactly that. Sites have no internet: nothing is
/// fetched from a CDN, and the policy would refuse it.
/// </remarks>
internal static class SecurityHeaders
{
    /// <summary>The Content-Security-Policy of every answer.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static void UseSecurityHeaders(this WebApplication app) =>
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), usb=(), serial=(), payment=()";
                if (context.Request.IsHttps)
                {
                    headers.StrictTransportSecurity = "max-age=31536000";
                }

                return Task.CompletedTask;
            });
            return next(context);
        });
}
