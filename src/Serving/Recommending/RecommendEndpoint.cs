using System.Globalization;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Observability;
using EventMlOps.Serving.Routing;

namespace EventMlOps.Serving.Recommending;

/// <summary><c>GET /recommend?user_id=&lt;id&gt;&amp;k=&lt;n&gt;</c>: the k items the user is most likely to interact
/// with, leaving out those it already has; a user the model never saw gets the most popular items, flagged
/// <c>"fallback": "popularity"</c>.</summary>
public static class RecommendEndpoint
{
    public const int DefaultK = 10;

    public sealed record Recommendations(long UserId, string Model, int Version, IReadOnlyList<RecommendedItem> Items, string? Fallback);

    public static void MapRecommend(this IEndpointRouteBuilder app) =>
        app.MapGet("/recommend", RecommendAsync).WithMetadata(new ModelRoute("recommend", Oip: false));

    private static async Task<Recommendations> RecommendAsync(HttpContext http, Router router, ServingOptions options, Samples samples)
    {
        var query = http.Request.Query;
        if (query["user_id"].ToString() is not { Length: > 0 } userText)
            throw Refusal.BadInput("user_id is required: /recommend?user_id=<id>&k=<n>");
        if (!Integers.TryParse(userText, NumberStyles.AllowLeadingSign, out long userId))
            throw Refusal.BadInput($"user_id must be an integer id, not {Refusal.Shown(userText)}");
        var k = DefaultK;
        if (query["k"].ToString() is { Length: > 0 } kText && (!Integers.TryParse(kText, NumberStyles.None, out k) || k < 1 || k > options.MaxK))
            throw Refusal.BadInput($"k must be an integer from 1 to {options.MaxK}, not {Refusal.Shown(kText)}");

        using var lease = await http.ServeInferenceAsync(router, t => t.Choose(m => m is RecommenderModel), "no recommender version takes traffic");
        var model = (RecommenderModel)lease.Model;
        var user = model.UserIndex(userId);
        var result = user < 0
            ? new Recommendations(userId, model.Name, model.Version, model.Popular(k), "popularity")
            : new Recommendations(userId, model.Name, model.Version, await model.RecommendAsync(user, k), null);
        if (samples.Take())
            samples.Add(model.Name, model.Version,
                new Dictionary<string, double[]> { ["user_activity"] = [model.Activity(user)], ["unknown_user"] = [user < 0 ? 1 : 0] },
                new Dictionary<string, double[]> { ["recommended_popularity"] = model.Popularity(result.Items) });
        return result;
    }
}
