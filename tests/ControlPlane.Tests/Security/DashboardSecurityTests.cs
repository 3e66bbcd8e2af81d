using System.Net;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Dashboard;
using EventMlOps.ControlPlane.Tests.Testing;

namespace EventMlOps.ControlPlane.Tests.Security;

/// <summary>The dashboard's session and forms over plain HTTP, as a hostile page or client would try them: the session
/// cookie is no API credential (nor a bearer token a session), a form needs this site's CSRF token and origin, sign-in
/// never sends anyone to another host, and every answer carries the strict Content-Security-Policy.</summary>
public class DashboardSecurityTests(ControlPlaneFixture fx)
{
    private const string Csrf = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"; // 43 characters, as the dashboard issues them

    private HttpClient Browser(string? session, string? origin = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = fx.BaseAddress };
        client.DefaultRequestHeaders.Add("Cookie", $"{Session.CsrfCookie}={Csrf}" + (session is null ? "" : $"; {Session.Cookie}={session}"));
        client.DefaultRequestHeaders.Add("Accept", "text/html");
        if (origin is not null) client.DefaultRequestHeaders.Add("Origin", origin);
        return client;
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) => new(fields.Select(f => KeyValuePair.Create(f.Key, f.Value)));

    [Fact]
    public async Task Given_a_session_cookie_or_a_bearer_header_When_used_where_the_other_belongs_Then_neither_authenticates()
    {
        var token = fx.Tokens.Issue("victor", [Roles.Viewer], TimeSpan.FromHours(1));
        (await Browser(token).GetAsync("/api/endpoints")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized, "the API takes bearer tokens only");

        var bearer = Browser(null);
        bearer.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var page = await bearer.GetAsync("/");
        page.StatusCode.ShouldBe(HttpStatusCode.Redirect, "a page takes the session cookie only");
        page.Headers.Location!.ToString().ShouldBe("/signin?next=%2F");
        (await Browser(null).GetAsync("/live")).StatusCode.ShouldBe(HttpStatusCode.Redirect);
        var live = Browser(null);
        live.DefaultRequestHeaders.Accept.Clear();
        live.DefaultRequestHeaders.Add("Accept", "text/event-stream");
        (await live.GetAsync("/live")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var replica = fx.Tokens.IssueForReplica("somewhere", "serve-x", TimeSpan.FromHours(1));
        (await Browser(replica).GetAsync("/")).StatusCode.ShouldBe(HttpStatusCode.Forbidden, "a replica's token holds no role");
    }

    [Fact]
    public async Task Given_an_operators_session_When_a_form_comes_without_this_sites_csrf_token_or_from_another_origin_Then_nothing_is_appended()
    {
        var s = new Scenario(fx);
        var (_, v2) = await s.ServingV1Async();
        (await s.RollOut(v2, new Contracts.Endpoints.RolloutStrategy(Contracts.Endpoints.RolloutKind.Canary, [new(10, 0)]))).EnsureSuccessStatusCode();
        var olivia = fx.Tokens.Issue("olivia", [Roles.Operator], TimeSpan.FromHours(1));
        var before = (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).StreamVersion;

        foreach (var (client, form) in new[]
                 {
                     (Browser(olivia), Form()),
                     (Browser(olivia), Form(("csrf", Csrf[..^1] + "H"))),
                     (Browser(olivia, "http://attacker.example"), Form(("csrf", Csrf))),
                 })
        {
            var refused = await client.PostAsync($"/endpoints/{s.Endpoint}/promote", form);
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await refused.Content.ReadAsStringAsync()).ShouldContain("the form was not sent from this dashboard");
        }
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).StreamVersion.ShouldBe(before);

        var done = await Browser(olivia, fx.BaseAddress.GetLeftPart(UriPartial.Authority)).PostAsync($"/endpoints/{s.Endpoint}/promote", Form(("csrf", Csrf)));
        done.StatusCode.ShouldBe(HttpStatusCode.Redirect);
        done.Headers.Location!.ToString().ShouldBe($"/endpoints/{s.Endpoint}");
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Rollouts[^1].By.ShouldBe("olivia");
    }

    [Fact]
    public async Task Given_a_next_address_elsewhere_When_signing_in_Then_it_goes_home_and_the_cookie_is_http_only_and_strict()
    {
        var token = fx.Tokens.Issue("victor", [Roles.Viewer], TimeSpan.FromHours(1));
        foreach (var next in new[] { "//attacker.example/", "https://attacker.example/", "/\\attacker.example", "javascript:alert(1)" })
        {
            var signedIn = await Browser(null).PostAsync("/signin", Form(("csrf", Csrf), ("token", token), ("next", next)));
            signedIn.StatusCode.ShouldBe(HttpStatusCode.Redirect, next);
            signedIn.Headers.Location!.ToString().ShouldBe("/", next);
            var cookie = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(Session.Cookie + "="));
            cookie.ShouldContain("httponly", Case.Insensitive);
            cookie.ShouldContain("samesite=strict", Case.Insensitive);
        }
        var refused = await (await Browser(null).PostAsync("/signin", Form(("csrf", Csrf), ("token", token + "x")))).Content.ReadAsStringAsync();
        refused.ShouldContain("the token was refused: the token&#x27;s signature does not match this control plane&#x27;s keys");
    }

    [Fact]
    public async Task Given_any_dashboard_answer_When_read_Then_it_carries_the_strict_content_security_policy()
    {
        var token = fx.Tokens.Issue("victor", [Roles.Viewer], TimeSpan.FromHours(1));
        foreach (var path in new[] { "/signin", "/", "/assets/app.js", "/endpoints/does-not-exist", "/audit?since=yesterday" })
        {
            var response = await Browser(token).GetAsync(path);
            response.Headers.GetValues("Content-Security-Policy").Single().ShouldBe(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'", path);
            response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
            ((int)response.StatusCode).ShouldBeLessThan(500, path);
        }
        (await Browser(token).GetAsync("/endpoints/does-not-exist")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var invalid = await Browser(token).GetAsync("/audit?since=yesterday");
        invalid.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await invalid.Content.ReadAsStringAsync()).ShouldContain("since: &#x27;yesterday&#x27; is neither an ISO 8601 time nor an event sequence number");
    }
}
