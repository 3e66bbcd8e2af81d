using EventMlOps.Contracts;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Dashboard;
using EventMlOps.ControlPlane.Tests.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace EventMlOps.ControlPlane.Tests.Dashboard;

/// <summary>The dashboard in a real browser (Debian's chromium) against the real control plane, with a lifecycle built
/// through the API: sign-in, the facts each page shows, time travel, the operators' and approvers' buttons (and their
/// refusals), live updates. Every visit ends with no console error and no request to any host but 127.0.0.1.</summary>
public class DashboardTests(ControlPlaneFixture fx, Chromium chromium) : IClassFixture<Chromium>
{
    private static readonly VersionMetrics Stable = new(400, 0, 11);

    private string Token(string role, string name) => fx.Tokens.Issue(name, [role], TimeSpan.FromHours(1));

    /// <summary>v1 in production, then a canary of v2 (10 % → 50 %) on the endpoint, its replica started. The model is named as
    /// asked when screenshots are taken (for the README), at random otherwise.</summary>
    private async Task<(Scenario S, int V1, int V2, Guid Run)> CanaryAsync(string? model = null)
    {
        var s = new Scenario(fx, Chromium.Screenshots is null ? null : model);
        await s.RegisterDataset();
        var run = await s.TrainedRun(0.61);
        await TrackedAsync(run);
        var v1 = await s.RegisteredVersion(run);
        // bob approves v1 and puts it in production as one intent: one correlation (the CLI's --correlation).
        using var bob = fx.Client(Roles.Approver, "bob");
        bob.DefaultRequestHeaders.Add("X-Correlation-Id", Guid.NewGuid().ToString("N"));
        (await bob.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), s.Model, v1, "looks good"))).EnsureSuccessStatusCode();
        (await bob.Send("/api/models/versions/stage", new TransitionModelStage(Guid.NewGuid(), s.Model, v1, ModelStage.Production))).EnsureSuccessStatusCode();
        var v2 = await s.RegisteredVersion(await s.TrainedRun(0.66));
        await s.CreateEndpoint();
        (await s.RollOut(v1)).EnsureSuccessStatusCode();
        await s.Fact("/api/endpoints/facts/replica", new ReplicaChangeReport(Guid.NewGuid(), s.Endpoint, $"serve-{s.Endpoint}", ReplicaChange.Started, "local",
            "http://127.0.0.1:9/"));
        (await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(10, 0), new CanaryStep(50, 0)], new RolloutAnalysis(1, 20, 0.05, null, 3))))
            .EnsureSuccessStatusCode();
        return (s, v1, v2, run);
    }

    /// <summary>What the trainer tracks on its run through the MLflow-shaped API, with its run-scoped token: params and a
    /// curve per epoch.</summary>
    private async Task TrackedAsync(Guid run)
    {
        using var trainer = fx.Client(fx.Tokens.IssueForRun(run, TimeSpan.FromHours(1)));
        for (var step = 1; step <= 3; step++)
            (await trainer.PostAsync("/api/2.0/mlflow/runs/log-batch", new StringContent($$"""
                {"run_id": "{{run:N}}", "params": [{"key": "factors", "value": "16"}],
                 "metrics": [{"key": "loss", "value": {{1.0 / step}}, "timestamp": 1700000000000, "step": {{step}}},
                             {"key": "hr@10", "value": {{0.2 * step}}, "timestamp": 1700000000000, "step": {{step}}}]}
                """, System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
    }

    /// <summary>The rollout agent's measurements of the canary's current step, one report each.</summary>
    private async Task MeasuredAsync(Scenario s, params VersionMetrics[] canary)
    {
        var agent = fx.Client(Roles.Agent, "rollout-agent");
        foreach (var c in canary)
        {
            var order = (await agent.Get<ApplyEndpoint>($"/api/endpoints/{s.Endpoint}/desired")).Canary.ShouldNotBeNull();
            (await s.AgentFact("/api/endpoints/facts/step", new RolloutStepReport(Guid.NewGuid(), s.Endpoint, order.RolloutId, order.Step, c, Stable), agent))
                .EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Given_no_session_When_opening_a_page_Then_the_sign_in_page_takes_a_persons_token_into_an_http_only_cookie_and_returns_there()
    {
        var s = new Scenario(fx);
        await s.CreateEndpoint();
        await using var visit = await chromium.OpenAsync(fx.BaseAddress);
        var page = visit.Page;

        var response = await page.GotoAsync(Links.Endpoint(s.Endpoint));
        page.Url.ShouldContain($"/signin?next=%2Fendpoints%2F{s.Endpoint}");
        response!.Headers["content-security-policy"].ShouldContain("default-src 'none'; script-src 'self'");
        await visit.ScreenshotAsync("signin");

        await page.FillAsync("#token", "not-a-token");
        await page.ClickAsync("form.card button[type=submit]");
        await Expect(page.Locator("[role=alert]")).ToContainTextAsync("the token was refused: the token is malformed");
        await page.FillAsync("#token", fx.Tokens.IssueForReplica(s.Endpoint, "serve-x", TimeSpan.FromHours(1)));
        await page.ClickAsync("form.card button[type=submit]");
        await Expect(page.Locator("[role=alert]")).ToContainTextAsync("not to a person");
        await page.FillAsync("#token", Token(Roles.Agent, "emo-agents"));
        await page.ClickAsync("form.card button[type=submit]");
        await Expect(page.Locator("[role=alert]")).ToContainTextAsync("not to a person");
        page.Url.ShouldContain("/signin");

        var token = Token(Roles.Viewer, "victor");
        await page.FillAsync("#token", token);
        await page.ClickAsync("form.card button[type=submit]");
        // The address, not the page's load event (seen past 30 s under CI load); the heading below waits for the content.
        await page.WaitForURLAsync($"**/endpoints/{s.Endpoint}", new() { WaitUntil = WaitUntilState.Commit });
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Endpoint {s.Endpoint}");
        await Expect(page.Locator("header .who")).ToContainTextAsync("victor (viewer)");

        var session = (await visit.Context.CookiesAsync()).Single(c => c.Name == Session.Cookie);
        (session.HttpOnly, session.SameSite).ShouldBe((true, SameSiteAttribute.Strict));
        (await page.EvaluateAsync<string>("document.cookie")).ShouldNotContain(token);
        (await page.EvaluateAsync<int>("localStorage.length + sessionStorage.length")).ShouldBe(0);
        var signature = token[(token.LastIndexOf('.') + 1)..];
        visit.Requests.Where(url => url.Contains(signature)).ShouldBeEmpty("the token is never in an address");

        await page.ClickAsync("header .who button");
        await page.WaitForURLAsync("**/signin", new() { WaitUntil = WaitUntilState.Commit }); // the address, not every load (seen late under load)
        await page.GotoAsync("/");
        page.Url.ShouldContain("/signin");
        visit.ShouldBeClean();
    }

    [Fact]
    public async Task Given_a_canary_being_analysed_When_a_viewer_opens_each_page_Then_it_shows_the_versions_weights_verdicts_and_approvers()
    {
        var (s, v1, v2, run) = await CanaryAsync("recommender");
        await MeasuredAsync(s, new VersionMetrics(12, 0, 12), new VersionMetrics(60, 0, 13));
        await using var visit = await chromium.OpenAsync(fx.BaseAddress);
        await visit.SignInAsync(Token(Roles.Viewer, "victor"));
        var page = visit.Page;

        var endpointRow = visit.Content.Locator("tr", new() { Has = page.Locator($"a[href='{Links.Endpoint(s.Endpoint)}']") });
        await Expect(endpointRow).ToContainTextAsync($"v{v1} 50 % · v{v2} 50 %");
        await Expect(endpointRow).ToContainTextAsync($"Canary of v{v2}, step 2 of 2, by olga");
        await Expect(visit.Content.Locator("section", new() { Has = page.Locator("#models") }).Locator("tr", new() { Has = page.Locator($"a[href='{Links.Model(s.Model)}']") }))
            .ToContainTextAsync($"v{v1} Production");
        await Expect(visit.Content.Locator($"a[href='{Links.Run(run)}']")).ToBeVisibleAsync();
        await visit.ScreenshotAsync("home");

        await page.ClickAsync($"a[href='{Links.Endpoint(s.Endpoint)}']");
        await Expect(visit.Content.Locator("dl.facts")).ToContainTextAsync($"v{v1} 50 % · v{v2} 50 %");
        var marks = visit.Content.Locator("ol.marks").First;
        await Expect(marks).ToContainTextAsync($"rollout started v{v2} by olga — canary 10 % → 50 %");
        await Expect(marks).ToContainTextAsync($"step advanced v{v2} by rollout-agent — step 2: canary at 50 %");
        var analysis = visit.Content.Locator("section", new() { Has = page.Locator("#canaries") });
        await Expect(analysis).ToContainTextAsync("too_few_samples");
        await Expect(analysis).ToContainTextAsync("60 req, 0 % errors, p95 13 ms");
        await Expect(analysis.Locator("svg title").First).ToContainTextAsync($"Canary analysis of v{v2} against v{v1}");
        await Expect(analysis.Locator("svg desc").First).ToContainTextAsync("errors ≤ 5 %, p95 ≤ 3 × stable");
        await Expect(visit.Content.Locator("svg desc").First).ToContainTextAsync($"now v{v1} 50 %, v{v2} 50 %");
        await Expect(visit.Content.Locator("#replicas").Locator("..")).ToContainTextAsync($"serve-{s.Endpoint}");
        await visit.ScreenshotAsync("endpoint");

        await page.GotoAsync(Links.Model(s.Model));
        var v1Card = visit.Content.Locator($"#v{v1}");
        await Expect(v1Card).ToContainTextAsync("approved by bob: “looks good”");
        await Expect(v1Card).ToContainTextAsync("stage None → Production by bob");
        await Expect(v1Card).ToContainTextAsync("registered by alice");
        await visit.ScreenshotAsync("model");

        await page.GotoAsync(Links.Run(run));
        await Expect(visit.Content.Locator("section", new() { Has = page.Locator("#params") })).ToContainTextAsync("factors");
        await Expect(visit.Content.Locator("figure.metric", new() { HasText = "loss" })).ToContainTextAsync("loss 1 → 0.3333 (3 steps; min 0.3333, max 1)");
        var sha = (await s.Viewer.Get<TrainingRunView>($"/api/runs/{run}")).ArtifactSha256!;
        await Expect(visit.Content.Locator("section", new() { Has = page.Locator("#artifacts") })).ToContainTextAsync(sha);
        await Expect(visit.Content.Locator("section", new() { Has = page.Locator("#changes") })).ToContainTextAsync("training_run_succeeded");
        await visit.ScreenshotAsync("run");

        await page.GotoAsync($"/audit?actor=bob&stream={Uri.EscapeDataString(StreamKeys.ModelVersion(s.Model, v1))}");
        await Expect(visit.Content.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(visit.Content).ToContainTextAsync("model_version_approved");
        await page.Locator("tbody tr", new() { HasText = "model_version_stage_changed" }).Locator("a[title]").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Causal chain of correlation");
        await Expect(visit.Content.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(visit.Content.Locator("tbody tr").First).ToContainTextAsync("model_version_approved"); // who asked first
        await Expect(visit.Content.Locator("tbody tr").Last).ToContainTextAsync("model_version_stage_changed");
        await visit.ScreenshotAsync("audit");

        // Every control is named (labels), every chart described.
        (await page.EvaluateAsync<int>("[...document.querySelectorAll('input:not([type=hidden]), select')].filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).length")).ShouldBe(0);
        visit.ShouldBeClean();
    }

    [Fact]
    public async Task Given_a_promoted_canary_When_moving_the_time_slider_to_before_the_promotion_Then_the_lineage_graph_is_redrawn_as_of_then()
    {
        var (s, v1, v2, _) = await CanaryAsync("ranker");
        var before = (await s.Viewer.Get<AuditEntry[]>($"/api/audit?stream=endpoint:{s.Endpoint}&limit=1"))[0].Sequence;
        (await s.Operator.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), s.Endpoint))).EnsureSuccessStatusCode();
        await using var visit = await chromium.OpenAsync(fx.BaseAddress);
        await visit.SignInAsync(Token(Roles.Viewer, "victor"), Links.EndpointLineage(s.Endpoint));
        var graph = visit.Page.Locator("#graph");

        await Expect(graph.Locator("a.node")).ToHaveCountAsync(4); // one dataset, v2's run, v2, the endpoint
        await Expect(graph).ToContainTextAsync("100 % traffic");
        await Expect(graph).Not.ToContainTextAsync($"{s.Model}@{v1}");

        await visit.Page.FillAsync("#asof-seq", before.ToString());
        await Expect(graph).ToContainTextAsync($"As of seq {before}.");
        await Expect(graph).ToContainTextAsync("90 % traffic");
        await Expect(graph).ToContainTextAsync("10 % traffic");
        await Expect(graph).ToContainTextAsync($"{s.Model}@{v1}");
        await Expect(graph).ToContainTextAsync("approved by bob");
        await Expect(graph.Locator("a.node")).ToHaveCountAsync(6); // the dataset once, each version with its run, the endpoint
        visit.Page.Url.ShouldEndWith($"?asOf={before}");
        await visit.ScreenshotAsync("lineage");

        await visit.Page.SelectOptionAsync("#asof-moment", "");
        await Expect(graph).ToContainTextAsync("Now.");
        await Expect(graph).Not.ToContainTextAsync($"{s.Model}@{v1}");

        // The dataset's impact: everything that descends from its content.
        await graph.Locator("a.node.dataset").ClickAsync();
        await Expect(visit.Page.Locator("h1")).ToHaveTextAsync($"Impact of dataset {s.DatasetSha[..12]}…");
        await Expect(visit.Content.Locator("#graph a.node")).ToHaveCountAsync(6); // the content, two runs, two versions, the endpoint
        await Expect(visit.Content.Locator("#graph")).ToContainTextAsync($"{s.Model}@{v1}");
        await Expect(visit.Content.Locator("#graph")).ToContainTextAsync($"endpoint {s.Endpoint}");
        visit.ShouldBeClean();
    }

    [Fact]
    public async Task Given_a_canary_When_a_viewer_then_an_operator_press_promote_and_roll_back_Then_the_viewer_sees_why_not_and_the_operator_moves_the_traffic()
    {
        var (s, v1, v2, _) = await CanaryAsync();
        await using (var viewer = await chromium.OpenAsync(fx.BaseAddress))
        {
            await viewer.SignInAsync(Token(Roles.Viewer, "victor"), Links.Endpoint(s.Endpoint));
            // By keyboard alone: Tab to "Promote…", Enter opens it, Tab to its button, Enter sends.
            for (var tabs = 0; await viewer.Page.EvaluateAsync<string>("document.activeElement.textContent") != "Promote…"; tabs++)
            {
                tabs.ShouldBeLessThan(40, "Promote… is reached with the Tab key");
                await viewer.Page.Keyboard.PressAsync("Tab");
            }
            await viewer.Page.Keyboard.PressAsync("Enter");
            await viewer.Page.Keyboard.PressAsync("Tab");
            (await viewer.Page.EvaluateAsync<string>("document.activeElement.textContent")).ShouldBe("Promote");
            await viewer.Page.Keyboard.PressAsync("Enter");
            await Expect(viewer.Page.Locator(".flash.refused")).ToHaveTextAsync("Forbidden (403): PromoteRollout needs the role 'operator'; victor has [viewer]");
            viewer.ShouldBeClean();
        }
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Rollout.ShouldNotBeNull("the viewer changed nothing");

        await using var visit = await chromium.OpenAsync(fx.BaseAddress);
        await visit.SignInAsync(Token(Roles.Operator, "olivia"), Links.Endpoint(s.Endpoint));
        await visit.Page.ClickAsync("details.confirm summary:text('Promote…')");
        await visit.Page.ClickAsync("details.confirm[open] button[type=submit]");
        await Expect(visit.Page.Locator(".flash.ok")).ToHaveTextAsync($"promoted the rollout on {s.Endpoint}");
        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(v2, 100)]);
        await Expect(visit.Content.Locator("dl.facts")).ToContainTextAsync($"v{v2} 100 %");

        await visit.Page.ClickAsync("details.confirm summary:text('Roll back…')");
        await visit.Page.FillAsync("details.confirm[open] input[name=reason]", "p95 <b>regressed</b> for \"users\"");
        await visit.Page.ClickAsync("details.confirm[open] button[type=submit]");
        await Expect(visit.Page.Locator(".flash.ok")).ToHaveTextAsync($"rolled {s.Endpoint} back");
        var endpoint = await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}");
        endpoint.Traffic.Select(t => (t.Version, t.Weight)).ShouldBe([(v1, 100)]);
        // The reason is shown as the words it is, never as markup.
        await Expect(visit.Content.Locator("ol.marks").First).ToContainTextAsync($"rolled back v{v1} by olivia — from v{v2}: p95 <b>regressed</b> for \"users\"");
        (await visit.Content.Locator("ol.marks b").CountAsync()).ShouldBe(0);

        await visit.Page.ClickAsync("details.confirm summary:text('Abort…')");
        await visit.Page.FillAsync("details.confirm[open] input[name=reason]", "nothing to abort");
        await visit.Page.ClickAsync("details.confirm[open] button[type=submit]");
        await Expect(visit.Page.Locator(".flash.refused")).ToContainTextAsync("Refused (422)");
        visit.ShouldBeClean();
    }

    [Fact]
    public async Task Given_a_version_When_its_author_and_then_another_approver_press_approve_Then_four_eyes_refuse_the_author_and_accept_bob()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        await using var visit = await chromium.OpenAsync(fx.BaseAddress);
        await visit.SignInAsync(fx.Tokens.Issue("alice", [Roles.Scientist, Roles.Approver], TimeSpan.FromHours(1)), Links.Model(s.Model));
        var card = visit.Content.Locator($"#v{v1}");
        await card.Locator("summary:text('Approve…')").ClickAsync();
        await card.Locator("details[open] input[name=comment]").FillAsync("mine is fine");
        await card.Locator("details[open] button[type=submit]").ClickAsync();
        await Expect(visit.Page.Locator(".flash.refused")).ToContainTextAsync($"four-eyes rule: alice registered {s.Model}@{v1} and cannot approve it");
        await Expect(card).ToContainTextAsync("not approved");
        visit.ShouldBeClean();

        await using var bob = await chromium.OpenAsync(fx.BaseAddress);
        await bob.SignInAsync(Token(Roles.Approver, "bob"), Links.Model(s.Model));
        card = bob.Content.Locator($"#v{v1}");
        await card.Locator("summary:text('Approve…')").ClickAsync();
        await card.Locator("details[open] button[type=submit]").ClickAsync();
        await Expect(bob.Page.Locator(".flash.ok")).ToHaveTextAsync($"approved {s.Model}@{v1}");
        await Expect(bob.Content.Locator($"#v{v1}")).ToContainTextAsync("approved by bob");
        await bob.Content.Locator($"#v{v1} summary:text('Change stage…')").ClickAsync();
        await bob.Content.Locator($"#v{v1} details[open] select").SelectOptionAsync("Staging");
        await bob.Content.Locator($"#v{v1} details[open] button[type=submit]").ClickAsync();
        await Expect(bob.Content.Locator($"#v{v1} h2")).ToContainTextAsync("Staging");
        bob.ShouldBeClean();
    }

    [Fact]
    public async Task Given_an_open_endpoint_page_When_an_operator_promotes_over_the_api_Then_the_page_shows_it_without_reloading()
    {
        var (s, _, v2, _) = await CanaryAsync();
        await using var visit = await chromium.OpenAsync(fx.BaseAddress);
        await visit.SignInAsync(Token(Roles.Viewer, "victor"), Links.Endpoint(s.Endpoint));
        await visit.Page.EvaluateAsync("window.stillTheSamePage = true");
        await Expect(visit.Content.Locator("dl.facts")).ToContainTextAsync($"v{v2} 10 %");

        (await s.Operator.Send("/api/endpoints/promote", new PromoteRollout(Guid.NewGuid(), s.Endpoint))).EnsureSuccessStatusCode();

        await Expect(visit.Content.Locator("dl.facts")).ToContainTextAsync($"v{v2} 100 %", new() { Timeout = 10_000 });
        await Expect(visit.Content.Locator("ol.marks").First).ToContainTextAsync($"promoted v{v2} by olga");
        (await visit.Page.EvaluateAsync<bool>("window.stillTheSamePage === true")).ShouldBeTrue("updated in place, not reloaded");
        await Expect(visit.Page.Locator("#live-status")).ToContainTextAsync("Updated at");
        visit.ShouldBeClean();
    }

    [Fact]
    public async Task Given_a_phone_width_screen_When_opening_the_pages_Then_none_is_wider_than_the_screen()
    {
        var (s, _, v2, run) = await CanaryAsync();
        await MeasuredAsync(s, new VersionMetrics(60, 0, 13));
        await using var visit = await chromium.OpenAsync(fx.BaseAddress, width: 390, height: 844);
        await visit.SignInAsync(Token(Roles.Viewer, "victor"));
        foreach (var path in new[] { "/", Links.Endpoint(s.Endpoint), Links.Model(s.Model), Links.Run(run), Links.EndpointLineage(s.Endpoint),
                     Links.VersionLineage(s.Model, v2), Links.Impact(s.DatasetSha), "/audit" })
        {
            await visit.Page.GotoAsync(path);
            (await visit.Page.EvaluateAsync<int>("document.documentElement.scrollWidth")).ShouldBeLessThanOrEqualTo(390, path);
            if (path == Links.Endpoint(s.Endpoint)) await visit.ScreenshotAsync("endpoint-phone");
        }
        visit.ShouldBeClean();
    }
}
