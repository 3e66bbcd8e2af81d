using EventMlOps.Training.Recommender;
using EventMlOps.Training.Running;

using EventMlOps.Training.Tests.Testing;

namespace EventMlOps.Training.Tests.Recommender;

public class MovieLensLoaderTests
{
    [Fact]
    public void Given_u_data_When_loaded_Then_ids_are_dense_and_each_user_is_in_time_order()
    {
        var data = MovieLensLoader.Load(new StringReader("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n\n"), "u.data");

        data.UserIds.ShouldBe([186L, 196L]);
        data.ItemIds.ShouldBe([242L, 302L, 377L]);
        data.Count.ShouldBe(3);
        data.Users.ShouldBe([0, 1, 1]);
        data.Items.ShouldBe([1, 2, 0], "user 196 rated 377 before 242");
        data.Timestamps.ShouldBe([891717742L, 878887116L, 881250949L]);
    }

    [Fact]
    public void Given_ratings_dat_When_loaded_Then_every_rating_is_an_interaction()
    {
        var data = MovieLensLoader.Load(new StringReader("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"), "ratings.dat");

        (data.UserCount, data.ItemCount, data.Count).ShouldBe((2, 2, 3));
        data.ItemIds.ShouldBe([661L, 1193L]);
        Interactions.IsContiguous(data.UserIds).ShouldBeTrue();
    }

    [Fact]
    public void Given_ratings_csv_with_a_header_When_loaded_Then_the_header_is_skipped()
    {
        var data = MovieLensLoader.Load(new StringReader("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n"), "ratings.csv");

        data.Count.ShouldBe(2);
        data.ItemIds.ShouldBe([31L, 1029L]);
    }

    [Fact]
    public void Given_a_repeated_pair_When_loaded_Then_it_is_one_interaction_at_its_latest_time()
    {
        var data = MovieLensLoader.Load(new StringReader("1\t5\t3\t100\n1\t5\t4\t300\n1\t6\t4\t200\n"), "u.data");

        data.Count.ShouldBe(2);
        data.Items.ShouldBe([1, 0]);
        data.Timestamps.ShouldBe([200L, 300L]);
    }

    [Theory]
    [InlineData("196\t242\t3\t881250949\n186\t302\t3\n", 2)]
    [InlineData("196\t242\t3\t881250949\n\n186\tabc\t3\t891717742\n", 3)]
    [InlineData("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4\n", 3)]
    [InlineData("1::1193::5::978300760\n1\t661\t3\t978302109\n", 2)]
    public void Given_a_malformed_line_When_loaded_Then_the_error_names_its_line_number(string content, int line)
    {
        var error = Should.Throw<UsageException>(() => MovieLensLoader.Load(new StringReader(content), "ratings"));

        error.Message.ShouldContain($"line {line}:");
        error.Message.ShouldStartWith("ratings:");
    }

    [Fact]
    public void Given_a_file_When_loaded_from_its_path_Then_it_reads_the_same()
    {
        var path = Temp.File("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", "u.data");

        MovieLensLoader.Load(path).Count.ShouldBe(2);
    }
}
