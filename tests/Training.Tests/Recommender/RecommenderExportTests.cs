using EventMlOps.Models;
using EventMlOps.Training.Recommender;
using EventMlOps.Training.Running;
using EventMlOps.Training.Tests.Testing;
using TorchSharp;

namespace EventMlOps.Training.Tests.Recommender;

[Collection(TorchCollection.Name)]
public class RecommenderExportTests
{
    private static readonly Interactions Data = InteractionGenerator.Generate(new InteractionGeneratorOptions(120, 150, 4000, 11));

    private static (NeuMF Model, double Loss) Train(int seed)
    {
        torch.manual_seed(seed);
        var split = LeaveLatestOut.Split(Data, 99, new Random(seed));
        var model = new NeuMF(Data.UserCount, Data.ItemCount, 8, [32, 16, 8]);
        using var optimizer = torch.optim.Adam(model.parameters(), 0.01);
        var (users, items, labels) = RecommenderTrainer.SampleEpoch(split, 4, new Random(seed));
        var loss = RecommenderTrainer.TrainEpoch(model, optimizer, users, items, labels, 256, torch.CPU);
        return (model, loss);
    }

    [Fact]
    public void Given_a_trained_NeuMF_When_exported_Then_ONNX_Runtime_scores_match_the_TorchSharp_forward_pass()
    {
        var (model, _) = Train(1);
        using var _ = model;
        var path = Path.Combine(Temp.Folder(), "model.onnx");
        var popular = new[] { 3, 1, 2 };

        OnnxGraph.Save(RecommenderExport.Build(model.Weights(), Data.UserCount, Data.ItemCount, 8, [32, 16, 8],
            RecommenderExport.Metadata(Data, 8, [32, 16, 8], popular, new Metrics { ["hr@10"] = 0.5 })), path);
        var diff = RecommenderTrainer.Verify(model, path, Data.UserCount, Data.ItemCount, torch.CPU, new Random(2));

        diff.Absolute.ShouldBeLessThanOrEqualTo(OnnxCheck.Tolerance);
        diff.Passes.ShouldBeTrue();
        var metadata = OnnxCheck.Metadata(path);
        metadata["model_kind"].ShouldBe("recommender");
        metadata["user_count"].ShouldBe(Data.UserCount.ToString());
        metadata["item_count"].ShouldBe(Data.ItemCount.ToString());
        metadata["popular_items"].ShouldBe("3,1,2");
        metadata["user_id_mapping"].ShouldBe("offset");
        metadata["user_id_offset"].ShouldBe("1");
        metadata["evaluation"].ShouldBe("""{"hr@10":0.5}""");
        SeenItems.Parse(Convert.FromBase64String(metadata["seen_items"])).Count.ShouldBe(Data.Count);
    }

    [Fact]
    public void Given_the_same_seed_When_trained_twice_Then_loss_and_weights_are_identical()
    {
        var (a, lossA) = Train(5);
        var (b, lossB) = Train(5);
        using var _ = a;
        using var __ = b;

        lossB.ShouldBe(lossA);
        b.Weights().PredictWeight.ShouldBe(a.Weights().PredictWeight);
        b.Weights().GmfUser.ShouldBe(a.Weights().GmfUser);
    }

    [Fact]
    public void Given_interactions_When_the_seen_items_are_stored_in_the_metadata_Then_ids_and_each_users_items_read_back()
    {
        var metadata = RecommenderExport.Metadata(Data, 8, [32, 16, 8], [0], new Metrics()).ToDictionary();

        var seen = SeenItems.Parse(Convert.FromBase64String(metadata[ModelMetadata.SeenItems]));

        seen.UserIds.ShouldBe(Data.UserIds);
        seen.ItemIds.ShouldBe(Data.ItemIds);
        seen.Count.ShouldBe(Data.Count);
        var user7 = Enumerable.Range(0, Data.Count).Where(i => Data.Users[i] == 7).Select(i => Data.Items[i]).Order().ToArray();
        seen.Of(7).ToArray().ShouldBe(user7);
        seen.UserIndex(Data.UserIds[7]).ShouldBe(7);
        seen.UserIndex(Data.UserIds[^1] + 1).ShouldBe(-1);
        metadata.Keys.ShouldNotContain("seen_items_file");
    }

    [Fact]
    public void Given_seen_items_with_a_wrong_magic_or_truncated_When_parsed_Then_they_are_refused()
    {
        var bytes = RecommenderExport.Seen(Data).ToBytes();

        Should.Throw<InvalidDataException>(() => SeenItems.Parse(bytes.AsSpan(0, bytes.Length - 1)));
        bytes[0] = (byte)'X';
        Should.Throw<InvalidDataException>(() => SeenItems.Parse(bytes));
    }
}
