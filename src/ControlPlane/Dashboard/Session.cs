using System.Security.Cryptography;
using System.Text;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;

namespace EventMlOps.ControlPlane.Dashboard;

/// <summary>The dashboard's session: the person's token, exchanged at sign-in for an HttpOnly, SameSite=Strict cookie —
/// never in a URL, never readable by script — and validated on every request like any bearer token (same keys, same
/// expiry, so every control-plane replica accepts it and nothing is kept on the server). Forms carry a CSRF token
/// (double submit: a random value in a SameSite=Strict cookie of its own, repeated in the form) instead of ASP.NET's
/// antiforgery, whose keys would have to be shared between replicas.</summary>
public static class Session
{
    public const string Scheme = "session", Policy = "dashboard";
    public const string Cookie = "emo-session", CsrfCookie = "emo-csrf", FlashCookie = "emo-flash", CsrfField = "csrf";

    /// <summary>Reads the token from the session cookie only (an Authorization header is the API's, not a session); a page
    /// asked for without one is sent to the sign-in page, anything else (the live stream) gets a 401.</summary>
    public static AuthenticationBuilder AddSession(this AuthenticationBuilder auth, Tokens tokens, Func<TokenValidatedContext, Task> validated) =>
        auth.AddJwtBearer(Scheme, o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = tokens.Validation;
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = c =>
                {
                    if (c.Request.Cookies[Cookie] is { Length: > 0 } token) c.Token = token;
                    else c.NoResult();
                    return Task.CompletedTask;
                },
                OnTokenValidated = validated,
                OnChallenge = c =>
                {
                    c.HandleResponse();
                    if (!HttpMethods.IsGet(c.Request.Method) || !c.Request.Headers.Accept.ToString().Contains("text/html"))
                    {
                        c.Response.StatusCode = 401;
                        return Task.CompletedTask;
                    }
                    var next = c.Request.Path + c.Request.QueryString;
                    c.Response.Redirect($"/signin?next={Uri.EscapeDataString(next)}{(c.AuthenticateFailure is null ? "" : "&ended=1")}");
                    return Task.CompletedTask;
                },
            };
        });

    /// <summary>Starts a session for a person's token (one with a person's role; never an agent's, a replica's, a trainer's or
    /// a grant), or says why not.</summary>
    public static async Task<string?> SignInAsync(HttpContext http, Tokens tokens, string? token)
    {
        Actor actor;
        try
        {
            actor = await tokens.AuthenticateAsync(token?.Trim());
        }
        catch (Unauthenticated e)
        {
            return $"the token was refused: {e.Message}";
        }
        if (actor.IsScoped || !actor.Roles.Any(EventMlOps.Contracts.Roles.People.Contains))
            return "this token belongs to an agent, a serving replica or a trainer, not to a person: sign in with a person's token (./emo token --role viewer)";
        var expires = new JsonWebToken(token!.Trim()).ValidTo;
        http.Response.Cookies.Append(Cookie, token.Trim(), Private(http, new DateTimeOffset(expires, TimeSpan.Zero)));
        return null;
    }

    public static void SignOut(HttpContext http) => http.Response.Cookies.Delete(Cookie, Private(http, null));

    /// <summary>The session's token, for the commands the dashboard sends in the person's name.</summary>
    public static string Token(HttpContext http) => http.Request.Cookies[Cookie] ?? "";

    /// <summary>This browser's CSRF token, set on first use.</summary>
    public static string Csrf(HttpContext http)
    {
        if (http.Request.Cookies[CsrfCookie] is { Length: 43 } existing) return existing;
        if (http.Items[CsrfCookie] is string issued) return issued;
        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        http.Items[CsrfCookie] = token;
        http.Response.Cookies.Append(CsrfCookie, token, Private(http, null));
        return token;
    }

    /// <summary>A form came from a dashboard page: its CSRF field matches this browser's cookie (which another site can
    /// neither read nor send, SameSite=Strict), and the browser's Origin, when it tells one, is this host.</summary>
    public static bool FromThisSite(HttpContext http, IFormCollection form)
    {
        var cookie = http.Request.Cookies[CsrfCookie];
        var field = form[CsrfField].ToString();
        if (cookie is not { Length: 43 } || field.Length != cookie.Length
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(cookie), Encoding.ASCII.GetBytes(field)))
            return false;
        var origin = http.Request.Headers.Origin.ToString();
        return origin.Length == 0 || origin == $"{http.Request.Scheme}://{http.Request.Host}";
    }

    /// <summary>What a form's command came to, shown once on the page it returns to.</summary>
    public sealed record Flash(bool Ok, string Text);

    public static void SetFlash(HttpContext http, Flash flash)
    {
        var text = flash.Text.Length <= 1000 ? flash.Text : flash.Text[..1000] + "…";
        http.Response.Cookies.Append(FlashCookie, (flash.Ok ? "1" : "0") + Base64Url(Encoding.UTF8.GetBytes(text)), Private(http, null));
    }

    public static Flash? TakeFlash(HttpContext http)
    {
        if (http.Request.Cookies[FlashCookie] is not { Length: > 1 } value) return null;
        http.Response.Cookies.Delete(FlashCookie, Private(http, null));
        try
        {
            var padded = value[1..].Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            return new Flash(value[0] == '1', Encoding.UTF8.GetString(Convert.FromBase64String(padded)));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static CookieOptions Private(HttpContext http, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
