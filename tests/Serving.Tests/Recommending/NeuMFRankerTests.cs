using System.Net;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using EventMlOps.Models;
using EventMlOps.Serving.Recommending;
using EventMlOps.Serving.Tests.Testing;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EventMlOps.Serving.Tests.Recommending;

public class NeuMFRankerTests(TrainedModels models)
{
    [Theory]
    [InlineData("machine")]
    [InlineData("Vector<T>")]
    [InlineData("512-bit")]
    public void Given_a_trained_recommender_When_the_kernel_scores_every_user_and_item_Then_it_equals_the_artifact_graph_within_1e_5(string lanes)
    {
        Assert.SkipWhen(lanes == "512-bit" && !Vector512.IsHardwareAccelerated, "512-bit vectors are not accelerated on this machine");
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(models.RecommenderPath));
        var ranker = lanes switch
        {
            "Vector<T>" => NeuMFRanker.Build<Vector<float>, LanesVector>(proto),
            "512-bit" => NeuMFRanker.Build<Vector512<float>, Lanes512>(proto),
            _ => NeuMFRanker.Build(proto),
        };
        var seen = DirectOrt.Seen(models.RecommenderPath);
        (ranker.Users, ranker.Items).ShouldBe((seen.UserIds.Length, seen.ItemIds.Length));
        var users = Enumerable.Range(0, ranker.Users).ToArray();
        var direct = DirectOrt.Scores(models.RecommenderPath, users, ranker.Items);

        var logits = new float[ranker.PaddedItems];
        var worst = 0.0;
        foreach (var user in users)
        {
            ranker.Logits(user, logits);
            for (var item = 0; item < ranker.Items; item++)
                worst = Math.Max(worst, Math.Abs(NeuMFRanker.Probability(logits[item]) - direct[user][item]));
        }

        worst.ShouldBeLessThan(1e-5);
        using var session = new InferenceSession(models.RecommenderPath);
        ranker.MaxDifference(session, RecommenderModel.VerifiedUsers).ShouldBeLessThan(RecommenderModel.Tolerance);
    }

    [Fact]
    public async Task Given_a_graph_that_is_not_the_NeuMF_its_weights_describe_When_it_is_desired_Then_it_is_refused_and_the_old_version_keeps_serving()
    {
        var proto = ModelProto.Parser.ParseFrom(await File.ReadAllBytesAsync(models.RecommenderPath));
        proto.Graph.Node.First(n => n.OpType == "Relu").OpType = "Sigmoid"; // the same weights, another network
        var path = Path.Combine(models.Folder, $"recommender-sigmoid-{Guid.NewGuid():N}.onnx");
        OnnxGraph.Save(proto, path);
        var altered = models.RecommenderV1() with
        {
            Version = 5, ArtifactUri = new Uri(path).AbsoluteUri, ArtifactSha256 = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))),
        };
        await using var host = await ServingHost.StartAsync(models, [models.RecommenderV1()]);

        await host.ApplyAsync(2, altered);

        host.Table.Routes.Select(r => (r.Model.Label, r.Weight)).ShouldBe([("rec@1", 100)]);
        var seen = DirectOrt.Seen(models.RecommenderPath);
        var (status, _, version) = await host.GetJson($"/recommend?user_id={seen.UserIds[0]}&k=3");
        (status, version).ShouldBe((HttpStatusCode.OK, "rec@1"));
        var metrics = await host.Client.GetStringAsync("/metrics");
        metrics.ShouldContain("kind=\"load_failed\"");
    }
}
