namespace Mutt.Dashboard.Auth;

/// <summary>
/// Response headers that keep the Dashboard out of frames, stop MIME sniffing and referrer leaks,
/// and restrict where scripts may come from. The Content-Security-Policy is the narrowest one
/// Blazor Server and Radzen run under (checked in Chromium by the browser tests, which fail on any
/// CSP violation): scripts only from this origin (blazor.web.js, Radzen.Blazor.js, collocated
/// modules), the circuit's WebSocket to this origin, and inline styles, because Radzen components
/// set style attributes.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self' 'report-sample'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

    public static Task AddAsync(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        return next(context);
    }
}
