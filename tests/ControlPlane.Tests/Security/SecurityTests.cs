using System.Net;
using System.Text;
using EventMlOps.Contracts;
using EventMlOps.Contracts.Datasets;
using EventMlOps.Contracts.Endpoints;
using EventMlOps.Contracts.Registry;
using EventMlOps.Contracts.Training;
using EventMlOps.Contracts.Views;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.ControlPlane.Tests.Testing;
using EventMlOps.Hosting;
using EventMlOps.Local;
using EventMlOps.Testing;
using Marten;

namespace EventMlOps.ControlPlane.Tests.Security;

/// <summary>The probes of the adversarial review, each against the real control plane over HTTP on a real PostgreSQL:
/// every one must be refused at its first step, with nothing appended and nothing disclosed.</summary>
public sealed class SecurityTests(ControlPlaneFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Whether the dataset's stream holds anything (tests run in parallel: only its own stream can be asked).</summary>
    private async Task<bool> RegisteredAsync(Guid datasetId)
    {
        await using var session = fx.Store.QuerySession();
        return await session.Events.FetchStreamStateAsync(StreamKeys.Dataset(datasetId), Ct) is not null;
    }

    [Theory]
    [InlineData("keys")]
    [InlineData("file:///etc/passwd")]
    [InlineData("file:///data/../etc/passwd")]
    [InlineData("file:///proc/self/environ")]
    [InlineData("file:///dev/zero")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("javascript:alert(1)")]
    [InlineData("../../etc/passwd")]
    public async Task Given_a_scientist_When_registering_a_dataset_that_points_at_secrets_or_devices_Then_400_and_nothing_is_appended(string uri)
    {
        var s = new Scenario(fx);
        // The file-read chain of the probe began with the control plane's own signing key.
        var target = uri == "keys" ? new Uri(Path.Combine(Tokens.KeysFolder(fx.App.Configuration), Tokens.KeyFile)).AbsoluteUri : uri;
        var id = Guid.NewGuid();

        var problem = await (await s.Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), id, "loot", target,
            new string('a', 64), "other", 1, []))).Problem(400);

        problem.GetProperty("field").GetString().ShouldBe("uri");
        (await RegisteredAsync(id)).ShouldBeFalse();
    }

    [Fact]
    public async Task Given_a_run_When_another_agent_token_reports_its_success_without_the_work_orders_grant_Then_403_and_nothing_is_appended()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var forged = new TrainingSucceededReport(Guid.NewGuid(), request.RunId, "file:///data/evil.onnx", new string('e', 64), new Dictionary<string, double> { ["hr@10"] = 0.99 });
        var mallory = fx.Client(Roles.Agent, "mallory-agent");

        (await mallory.Send("/api/runs/facts/succeeded", forged)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        // A genuine grant, but for another run: still refused.
        var other = s.WithGrant(mallory, new TrainingStartedReport(Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow));
        (await (await other.Send("/api/runs/facts/succeeded", forged)).Problem(403)).GetProperty("detail").GetString()!.ShouldContain("other work");
        // Admin does not stand in for the grant either.
        (await fx.Client(Roles.Admin, "root").Send("/api/runs/facts/succeeded", forged)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamAsync(StreamKeys.Run(request.RunId), token: Ct)).Select(e => e.Data).ShouldAllBe(e => !(e is ControlPlane.Training.TrainingRunSucceeded));
    }

    [Fact]
    public async Task Given_a_running_run_When_heartbeats_come_without_its_grant_or_with_hostile_fields_Then_they_are_refused_and_no_liveness_is_kept()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var request = s.Request();
        (await s.Scientist.Send("/api/runs", request)).EnsureSuccessStatusCode();
        var beat = new HeartbeatReport(Guid.NewGuid(), request.RunId, "train-x");
        var mallory = fx.Client(Roles.Agent, "mallory-agent");

        (await mallory.Send("/api/runs/facts/heartbeat", beat)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var otherRun = s.WithGrant(mallory, new TrainingStartedReport(Guid.NewGuid(), Guid.NewGuid(), DateTimeOffset.UtcNow));
        (await otherRun.Send("/api/runs/facts/heartbeat", beat)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var granted = s.WithGrant(s.Agent, beat);
        await (await granted.Send("/api/runs/facts/heartbeat", beat with { CommandId = Guid.NewGuid(), JobName = "train-\u0000x" })).Problem(400);
        await (await granted.Send("/api/runs/facts/heartbeat", beat with { CommandId = Guid.NewGuid(), JobName = new string('j', 10_000) })).Problem(400);

        await using var session = fx.Store.QuerySession();
        (await session.LoadAsync<ControlPlane.Training.RunLiveness>(StreamKeys.Run(request.RunId), Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Given_a_canary_When_a_forged_healthy_measurement_arrives_without_the_endpoints_grant_Then_it_cannot_promote_it()
    {
        var s = new Scenario(fx);
        var (_, v2) = await s.ServingV1Async();
        (await s.RollOut(v2, new RolloutStrategy(RolloutKind.Canary, [new CanaryStep(50, 0)], new RolloutAnalysis(1, 10)))).EnsureSuccessStatusCode();
        var rollout = (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Rollout!.RolloutId;
        var healthy = new RolloutStepReport(Guid.NewGuid(), s.Endpoint, rollout, 0, new VersionMetrics(1000, 0, 1), new VersionMetrics(1000, 0, 1));

        (await fx.Client(Roles.Agent, "mallory-agent").Send("/api/endpoints/facts/step", healthy)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await s.Replica.Send("/api/endpoints/facts/step", healthy)).StatusCode.ShouldBe(HttpStatusCode.Forbidden, "a replica reports what it serves, no measurements");

        (await s.Viewer.Get<EndpointView>($"/api/endpoints/{s.Endpoint}")).Rollout.ShouldNotBeNull("the canary is still being judged");
    }

    [Fact]
    public async Task Given_a_replica_token_When_it_reaches_beyond_its_endpoint_Then_it_is_refused()
    {
        var s = new Scenario(fx);
        await s.CreateEndpoint();
        var other = new Scenario(fx);
        await other.CreateEndpoint();

        (await s.Replica.GetAsync($"/api/endpoints/{s.Endpoint}/desired", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await s.Replica.GetAsync($"/api/endpoints/{other.Endpoint}/desired", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await s.Replica.Send("/api/endpoints/facts/observed", new EndpointStatusReport(Guid.NewGuid(), other.Endpoint, 0, true))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await s.Replica.GetAsync("/api/audit", Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await s.Replica.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), "x", "s3://bucket/x", new string('a', 64), "other", 1, [])))
            .StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        // It renews itself while the endpoint lives; a work-order grant is no bearer token.
        (await s.Replica.PostAsync($"/api/endpoints/{s.Endpoint}/replica-token", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var grant = fx.Client(fx.Tokens.IssueGrant(Scopes.Endpoint(s.Endpoint), TimeSpan.FromMinutes(5)));
        (await grant.GetAsync($"/api/endpoints/{s.Endpoint}", Ct)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        // An agent without the endpoint's grant gets no replica token.
        (await fx.Client(Roles.Agent, "mallory-agent").PostAsync($"/api/endpoints/{s.Endpoint}/replica-token", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Given_an_unapproved_version_When_rolling_it_out_Then_four_eyes_refuses_and_the_authors_other_spelling_cannot_approve()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var v1 = await s.RegisteredVersion(await s.TrainedRun());
        await s.CreateEndpoint();

        var refused = await (await s.Operator.Send("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), s.Endpoint, v1, RolloutStrategy.Immediate))).Problem(422);
        refused.GetProperty("detail").GetString()!.ShouldContain("four-eyes");
        // alice requested the run; "Alice " is alice.
        var alias = fx.Client(fx.Tokens.Issue("Alice ", [Roles.Approver], TimeSpan.FromMinutes(5)));
        (await (await alias.Send("/api/models/versions/approve", new ApproveModelVersion(Guid.NewGuid(), s.Model, v1))).Problem(422))
            .GetProperty("detail").GetString()!.ShouldContain("four-eyes");
        (await s.Operator.Send("/api/endpoints/rollout", new RollOut(Guid.NewGuid(), s.Endpoint, v1, RolloutStrategy.Immediate))).StatusCode
            .ShouldBe(HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task Given_a_run_of_one_model_When_registered_as_another_models_version_Then_it_is_refused()
    {
        var s = new Scenario(fx);
        await s.RegisterDataset();
        var run = await s.TrainedRun();
        var other = "m" + Guid.NewGuid().ToString("N")[..10];

        (await (await s.Scientist.Send("/api/models/versions", new RegisterModelVersion(Guid.NewGuid(), other, run))).Problem(422))
            .GetProperty("detail").GetString()!.ShouldContain($"not '{other}'");
        (await (await s.Operator.Send("/api/endpoints", new CreateEndpoint(Guid.NewGuid(), "e" + Guid.NewGuid().ToString("N")[..8], other))).Problem(404))
            .GetProperty("title").GetString().ShouldBe("Unknown model");
    }

    [Theory]
    [InlineData("name")]
    [InlineData("uri")]
    [InlineData("schema")]
    public async Task Given_a_NUL_character_When_commanding_Then_400_nothing_is_appended_and_the_next_200_commands_work(string where)
    {
        var s = new Scenario(fx);
        var id = Guid.NewGuid();
        var dataset = new RegisterDataset(Guid.NewGuid(), id, "ok", "s3://bucket/data.csv", new string('a', 64), "csv", 1, []);
        var poisoned = where switch
        {
            "name" => dataset with { Name = "nul\0name" },
            "uri" => dataset with { Uri = "s3://bucket/x\0y" },
            _ => dataset with { Schema = [new DatasetColumn("a\0b", "string")] },
        };
        await (await s.Scientist.Send("/api/datasets", poisoned)).Problem(400);
        (await s.Viewer.GetAsync("/api/datasets?sha256=%00", Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await RegisteredAsync(id)).ShouldBeFalse();

        // No pooled connection was left out of step: 200 valid commands afterwards all succeed (8 at a time: the other
        // tests share this control plane and its admission limit).
        var results = new List<HttpStatusCode>();
        foreach (var batch in Enumerable.Range(0, 200).Chunk(8))
            results.AddRange(await Task.WhenAll(batch.Select(async _ =>
                (await s.Scientist.Send("/api/datasets", dataset with { CommandId = Guid.NewGuid(), DatasetId = Guid.NewGuid() })).StatusCode)));
        results.ShouldAllBe(c => c == HttpStatusCode.OK);
    }

    [Fact]
    public async Task Given_oversize_inputs_When_commanding_Then_413_or_400_without_echo_and_nothing_is_appended()
    {
        var s = new Scenario(fx);
        var (big, long_) = (Guid.NewGuid(), Guid.NewGuid());
        var huge = new string('x', 100 * 1024); // over the 64 KiB a command may take

        var tooBig = await s.Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), big, huge, "s3://bucket/x", new string('a', 64), "csv", 1, []));
        tooBig.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await tooBig.Content.ReadAsStringAsync(Ct)).Length.ShouldBeLessThan(1000);

        var longName = new string('n', 5000);
        var problem = await (await s.Scientist.Send("/api/datasets", new RegisterDataset(Guid.NewGuid(), long_, longName, "s3://bucket/x",
            new string('a', 64), "csv", 1, []))).Problem(400);
        problem.GetRawText().ShouldNotContain(new string('n', 100));
        (await RegisteredAsync(big)).ShouldBeFalse();
        (await RegisteredAsync(long_)).ShouldBeFalse();
        (await s.Viewer.GetAsync("/api/audit?limit=100000", Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest, "pages are bounded");
    }

    [Fact]
    public async Task Given_20_identical_commands_at_once_When_they_race_Then_all_answer_success_alike_and_one_event_is_appended()
    {
        var s = new Scenario(fx);
        var command = new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), "raced", "s3://bucket/raced.csv", new string('c', 64), "csv", 1, []);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ => await s.Scientist.Send("/api/datasets", command)));

        answers.Select(a => a.StatusCode).ShouldAllBe(c => c == HttpStatusCode.OK);
        var bodies = await Task.WhenAll(answers.Select(a => a.Read<CommandAccepted>()));
        bodies.Select(b => b with { Duplicate = false }).Distinct().ShouldHaveSingleItem();
        bodies.Count(b => !b.Duplicate).ShouldBe(1);
        await using var session = fx.Store.QuerySession();
        (await session.Events.FetchStreamAsync(StreamKeys.Dataset(command.DatasetId), token: Ct)).Count.ShouldBe(1);

        var reused = await (await s.Scientist.Send("/api/datasets", command with { Name = "different" })).Problem(422);
        reused.GetProperty("detail").GetString()!.ShouldContain("already used for another");
    }

    [Fact]
    public async Task Given_malformed_inputs_When_they_reach_the_edges_Then_each_is_a_clear_4xx()
    {
        var s = new Scenario(fx);
        var kind7 = new StringContent("""{"commandId":"7d9b7f6e-1f6a-4a53-9a3e-2f9b6f1d2c3a","endpoint":"x","version":1,"strategy":{"kind":7,"steps":[]}}""",
            Encoding.UTF8, "application/json");
        (await s.Operator.PostAsync("/api/endpoints/rollout", kind7, Ct)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var form = await s.Agent.PostAsync("/api/2.0/mlflow/runs/log-metric", new StringContent("key=a", Encoding.UTF8, "text/plain"), Ct);
        form.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        var wrongType = await s.Scientist.PostAsync("/api/datasets", new StringContent("{}", Encoding.UTF8, "text/plain"), Ct);
        wrongType.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        (await wrongType.Content.ReadAsStringAsync(Ct)).ShouldNotBeNullOrWhiteSpace("a 415 says why");
        var foreign = fx.Client(new Tokens(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).Issue("mallory", [Roles.Admin], TimeSpan.FromHours(1)));
        var detail = (await (await foreign.GetAsync("/api/datasets", Ct)).Problem(401)).GetProperty("detail").GetString()!;
        detail.ShouldContain("signature does not match");
        detail.ShouldNotContain("IDX", Case.Sensitive, "no IdentityModel internals");
    }

    [Fact]
    public async Task Given_an_expired_token_When_it_is_used_Then_the_401_says_when_it_expired_and_how_to_get_another_in_plain_words()
    {
        var expiredAt = DateTime.UtcNow.AddHours(-1);
        var token = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = Tokens.Issuer, Audience = Tokens.Audience, Claims = new Dictionary<string, object> { ["sub"] = "alice", ["role"] = new[] { Roles.Viewer } },
            IssuedAt = expiredAt.AddHours(-1), NotBefore = expiredAt.AddHours(-1), Expires = expiredAt,
            SigningCredentials = new(new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(fx.SigningKey), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
        });

        var detail = (await (await fx.Client(token).GetAsync("/api/datasets", Ct)).Problem(401)).GetProperty("detail").GetString()!;

        detail.ShouldBe($"the bearer token was refused: the token expired at {expiredAt:yyyy-MM-dd HH:mm:ss}Z; " +
                        "./emo token --role <role> --name <you> issues a new one (an admin runs it)");
    }

    [Fact]
    public async Task Given_more_commands_than_it_handles_at_once_When_they_arrive_together_Then_the_excess_is_shed_with_503_and_retry_after()
    {
        await using var narrow = await fx.StartAsync("emo_narrow", "--Api:MaxConcurrentCommands=1", "--Api:CommandQueue=0");
        using var client = new HttpClient { BaseAddress = new Uri(narrow.Urls.First()) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", fx.Tokens.Issue("alice", [Roles.Scientist], TimeSpan.FromMinutes(5)));

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.Send("/api/datasets",
            new RegisterDataset(Guid.NewGuid(), Guid.NewGuid(), "burst", "s3://bucket/burst.csv", new string('b', 64), "csv", 1, []))));

        answers.ShouldContain(a => a.StatusCode == HttpStatusCode.OK);
        var shed = answers.Where(a => a.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        shed.ShouldNotBeEmpty("one at a time and no queue: a burst of 40 cannot all be admitted");
        shed.ShouldAllBe(a => a.Headers.RetryAfter != null);
    }

    [Fact]
    public async Task Given_the_database_stops_When_calls_arrive_Then_503_and_readiness_503_and_it_recovers_without_a_restart()
    {
        var root = Path.Combine(Path.GetTempPath(), "emo-pg-outage-" + Environment.ProcessId);
        var pg = await LocalPostgres.StartAsync(root, durable: false, Ct);
        try
        {
            await pg.EnsureDatabaseAsync("outage", Ct);
            var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
            var (app, address) = await TestHost.StartControlPlaneAsync(pg.ConnectionString("outage"), "emo", Path.Combine(root, "home"),
                $"--Auth:SigningKey={Convert.ToBase64String(key)}");
            await using var _ = app;
            using var client = new HttpClient { BaseAddress = address };
            client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(key).Issue("victor", [Roles.Viewer], TimeSpan.FromMinutes(5)));
            (await client.GetAsync("/health/ready", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);

            await LocalPostgres.StopAsync(root);
            var down = await client.GetAsync("/api/datasets", Ct);
            ((int)down.StatusCode).ShouldBe(503, await down.Content.ReadAsStringAsync(Ct));
            down.Headers.RetryAfter.ShouldNotBeNull();
            var ready = await client.GetAsync("/health/ready", Ct);
            ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            ready.Headers.RetryAfter.ShouldNotBeNull();

            await LocalPostgres.StartAsync(root, durable: false, Ct);
            (await LifecycleEventually(async () => (await client.GetAsync("/health/ready", Ct)).StatusCode == HttpStatusCode.OK)).ShouldBeTrue();
            (await client.GetAsync("/api/datasets", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
            await app.StopAsync(Ct);
        }
        finally
        {
            await LocalPostgres.StopAsync(root);
            Directory.Delete(root, recursive: true);
        }
    }

    private static Task<bool> LifecycleEventually(Func<Task<bool>> condition) => Lineage.LifecycleTests.Eventually(condition);
}
