using EventMlOps.ControlPlane.Alarms;
using EventMlOps.ControlPlane.Audit;
using EventMlOps.ControlPlane.Auth;
using EventMlOps.ControlPlane.Commanding;
using EventMlOps.ControlPlane.Dashboard;
using EventMlOps.ControlPlane.Datasets;
using EventMlOps.ControlPlane.Drift;
using EventMlOps.ControlPlane.Endpoints;
using EventMlOps.ControlPlane.Environments;
using EventMlOps.ControlPlane.History;
using EventMlOps.ControlPlane.Integration;
using EventMlOps.ControlPlane.Hosting;
using EventMlOps.ControlPlane.Lineage;
using EventMlOps.ControlPlane.Registry;
using EventMlOps.ControlPlane.Training;
using EventMlOps.ControlPlane.WorkOrders;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Weasel.Core;
using Wolverine;
using Wolverine.Marten;

namespace EventMlOps.ControlPlane;

/// <summary>The control-plane host, in one order: service defaults → Marten → Wolverine → endpoints.</summary>
public static class ControlPlaneApp
{
    /// <summary>The service name on its logs and metrics, and its bus's (so that its Wolverine meter is its own).</summary>
    public const string Service = "emo-controlplane";

    public static WebApplication Build(string[] args)
    {
        // The application's name, whatever process hosts it: the OpenAPI document (title, tags) must not depend on it.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(ControlPlaneApp).Assembly.GetName().Name });
        var config = builder.Configuration;
        builder.Configuration.AddConfigFiles();

        // Service defaults: JSON logs, metrics, health, problem details; then OpenAPI and auth. A refused command is the
        // caller's mistake, told to the caller: no error with its payload and stack (ProblemMapping logs one line instead).
        builder.AddServiceDefaults(Service, quiet: e => e.Exception is { } x && ProblemMapping.IsExpected(x),
                processMeters: [ServiceDefaults.EventStoreMeter], meters: DriftMetrics.MeterName)
            .AddDatabase(s => s.GetRequiredService<IDocumentStore>().Storage.Database.CreateConnection());
        builder.Services.AddRateLimiter(o => CommandAdmission.Configure(o, config));
        builder.Services.AddExceptionHandler<ProblemMapping>();
        builder.Services.AddSingleton<IProblemDetailsWriter, ProblemJson>(); // after the default writer: the fallback
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<BearerScheme>().AddSchemaTransformer<Mlflow.MlflowSchemaNames>());
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        var tokens = Tokens.FromConfiguration(config);
        builder.Services.AddSingleton(tokens);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DriftMetrics>();
        builder.Services.AddSingleton<CommandHandlers>();
        builder.Services.AddSingleton<GroupCommit>();
        builder.Services.AddHostedService(s => s.GetRequiredService<GroupCommit>());
        builder.Services.AddSingleton(RegistrationPolicy.From(config));
        if (Mlflow.RunArtifacts.Serving(config)) // MLflow's artifact proxy: the one reason the control plane writes to the store
            builder.Services.AddSingleton(EventMlOps.Artifacts.ArtifactStore.FromConfiguration(config, EmoHome.Resolve(config)));
        builder.Services.AddSingleton(DataLocations.From(config));
        builder.Services.AddSingleton(TrainerKinds.From(config));
        builder.Services.AddHostedService<CommandRecordRetention>();
        builder.Services.AddHostedService<RunStallWatch>();
        builder.Services.AddHistory();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = tokens.Validation;
                o.Events = new JwtBearerEvents { OnChallenge = ChallengeAsProblem, OnForbidden = ForbiddenAsProblem, OnTokenValidated = RefuseGrants };
            })
            .AddSession(tokens, RefuseGrants);
        // Every /api route needs one of the roles; a run-scoped trainer token (no role) reaches only the tracking API, a
        // replica's token only its endpoint's desired state and reports.
        builder.Services.AddAuthorization(o =>
        {
            o.DefaultPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim("role", EventMlOps.Contracts.Roles.All).Build();
            o.AddPolicy(EndpointsApi.ReplicaPolicy, p => p.RequireAuthenticatedUser()
                .RequireAssertion(c => c.User.HasClaim(x => x.Type == "role" || x.Type == Actor.EndpointClaim)));
            // Routes for the admin alone (projection rebuilds, environment plans), named for the role.
            o.AddPolicy(EventMlOps.Contracts.Roles.Admin, p => p.RequireAuthenticatedUser().RequireClaim("role", EventMlOps.Contracts.Roles.Admin));
            o.AddPolicy(Session.Policy, DashboardSlice.Policy());
        });
        builder.Services.AddDashboard();

        // Marten: one stream per dataset, run, model version and endpoint; inline snapshots so a caller reads its own write.
        var connectionString = Store.RequireConnectionString(config);
        var schema = Store.Schema(config);
        var marten = builder.Services.AddMarten(o =>
            {
                ConfigureStore(o, connectionString, schema);
                // marten_event_append_total{event_type} at /metrics: events appended, and through their types the runs that
                // fail, the canaries rolled back and the drift detected (the dashboards and alerts of deploy/…/monitoring).
                o.OpenTelemetry.TrackEventCounters();
            })
            .UseLightweightSessions()
            .IntegrateWithWolverine(w =>
            {
                w.MessageStorageSchemaName = schema + "_wolverine";
                w.TransportSchemaName = schema + "_queues";
            })
            // The events a slice's subscription handler takes (SubscribedEvents finds them): work orders, the registration policy,
            // the closed loop (drift alarm → retraining → approval → rollout).
            .ProcessEventsWithWolverineHandlersInStrictOrder("work-orders", o =>
            {
                foreach (var type in SubscribedEvents.Types) o.IncludeType(type);
            })
            // HotCold: with several control-plane replicas on one store, one leads the daemon (the work-orders subscription
            // included), so each work order is sent once; another takes over when the leader goes away.
            .AddAsyncDaemon(DaemonMode.HotCold);
        // Integration events for other services, on the emo-events exchange (RabbitMQ) or topic (Kafka); the PostgreSQL
        // queues fan nothing out, so without a broker there are none.
        if (BusSettings.From(config).Transport != BusTransport.Postgresql)
            marten.SubscribeToEvents(new IntegrationEventsSubscription());
        // Projection rebuilds through the daemon, into a scratch schema of the same database (History/).
        builder.Services.AddSingleton(s => new ProjectionRebuild(s.GetRequiredService<IDocumentStore>(), connectionString,
            s.GetRequiredService<ILogger<ProjectionRebuild>>()));
        builder.Services.AddSingleton<ProjectionRuns>();

        // Wolverine: every command passes the gate (auth, role, idempotency) and runs in one transaction with its events.
        builder.Host.UseWolverine(opts =>
        {
            opts.ServiceName = Service;
            opts.ApplicationAssembly = typeof(ControlPlaneApp).Assembly;
            opts.UseRuntimeCompilation();
            opts.CodeGeneration.TypeLoadMode = CodeGeneration.Mode(config);
            opts.Policies.AutoApplyTransactions();
            opts.Policies.ForMessagesOfType<EventMlOps.Contracts.ICommand>().AddMiddleware(typeof(CommandGate));
            opts.UseSystemTextJsonForSerialization(WireJson.Configure);
            opts.Durability.ScheduledJobPollingTime = TimeSpan.FromMilliseconds(250);
            Bus.Configure(opts, BusSettings.From(config));
        });

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages(); // a bare 4xx (415, 405 …) still answers a ProblemDetails
        app.UseMiddleware<ControlCharacters>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapServiceDefaults();
        app.MapOpenApi("/openapi/{documentName}.json");
        var api = app.MapGroup("/api").RequireAuthorization();
        api.MapDatasets();
        api.MapTraining();
        api.MapRegistry();
        api.MapEndpoints(app.MapGroup("/api").RequireAuthorization(EndpointsApi.ReplicaPolicy));
        api.MapDrift();
        api.MapAlarms(app.MapGroup("/api").RequireAuthorization(EndpointsApi.ReplicaPolicy));
        api.MapLineage();
        api.MapWorkOrders();
        api.MapCommandOutcomes();
        api.MapAudit();
        api.MapEnvironments();
        api.MapHistory();
        api.MapProjections();
        Agents.AgentsApi.MapAgents(api);
        Mlflow.MlflowApi.MapMlflow(app);
        app.MapDashboard();
        app.Lifetime.ApplicationStarted.Register(() => _ = Task.Run(async () =>
        {
            try
            {
                await AuditTrail.EnsureIndexesAsync(app.Services.GetRequiredService<IDocumentStore>(), app.Lifetime.ApplicationStopping);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                app.Logger.LogError(e, "Building the audit indexes failed; audit queries scan the event table until the next start");
            }
        }));
        return app;
    }

    /// <summary>The store's shape: connection, schema, serialization, stream identity, event metadata, and each slice's
    /// snapshots, projections and indexes. A projection rebuild's scratch store (<see cref="History.ScratchStore"/>) is shaped by the
    /// same call, so that its tables and documents are the host's.</summary>
    public static void ConfigureStore(StoreOptions o, string connectionString, string schema)
    {
        o.Connection(connectionString);
        o.DatabaseSchemaName = schema;
        // NaN and ±Infinity: MLflow metrics may be non-finite (MetricPoint); what the store holds is ours, so reading them is safe.
        o.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase,
            configure: j => j.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals);
        o.Events.StreamIdentity = StreamIdentity.AsString;
        o.Events.MetadataConfig.EnableAll();
        o.Events.MetadataConfig.UserNameEnabled = true; // not part of EnableAll: the actor on every event
        // Each slice declares its snapshots and indexes.
        o.ConfigureDatasets();
        o.ConfigureTraining();
        o.ConfigureRegistry();
        o.ConfigureEndpoints();
        o.ConfigureRetraining();
        o.ConfigureAlarms();
        o.ConfigureCommanding();
        o.Schema.For<Agents.AgentLiveness>(); // the agent hosts' beats (emo status)
    }

    /// <summary>A refused bearer token answers a ProblemDetails saying why (in words that reveal nothing of the
    /// validator or the keys), not an empty 401.</summary>
    private static Task ChallengeAsProblem(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        return WriteProblem(context.HttpContext, 401, "Unauthenticated", context.AuthenticateFailure is { } failure
            ? $"the bearer token was refused: {Tokens.Explain(failure)}"
            : "no bearer token: send 'Authorization: Bearer <jwt>' (./emo token --role <role> --name <you> issues one)");
    }

    /// <summary>A work order's grant is proof of work, not an identity: never a bearer token. A subject that is no valid
    /// principal name is refused too.</summary>
    private static Task RefuseGrants(TokenValidatedContext context)
    {
        if (context.Principal?.HasClaim(c => c.Type == Tokens.GrantClaim) == true)
            context.Fail("a work-order grant is not a bearer token");
        else if (context.Principal?.FindFirst("sub")?.Value is { } sub)
            try { Actor.Normalize(sub); }
            catch (Unauthenticated e) { context.Fail(e); }
        return Task.CompletedTask;
    }

    private static Task ForbiddenAsProblem(ForbiddenContext context)
    {
        var adminOnly = context.HttpContext.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == EventMlOps.Contracts.Roles.Admin) == true;
        return WriteProblem(context.HttpContext, 403, "Forbidden", adminOnly
            ? $"this route is for the {EventMlOps.Contracts.Roles.Admin} role alone"
            : $"this token carries none of the roles ({string.Join(", ", EventMlOps.Contracts.Roles.All)}) this route needs; "
              + "a run-scoped trainer token may only use the tracking API");
    }

    /// <summary>The MLflow routes answer in MLflow's error shape, which its clients read.</summary>
    private static async Task WriteProblem(HttpContext http, int status, string title, string detail)
    {
        if (Mlflow.MlflowApi.IsMlflowPath(http.Request.Path))
        {
            await Mlflow.MlflowApi.WriteErrorAsync(http, status, detail);
            return;
        }
        http.Response.StatusCode = status;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
