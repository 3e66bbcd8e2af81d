namespace EventMlOps.ControlPlane.Commanding;

/// <summary>Every list answers one page: at most <see cref="MaxPage"/> items (<see cref="DefaultPage"/> unless asked),
/// from <c>offset</c> on — a viewer cannot make the control plane serialise the whole store in one answer.</summary>
public static class Paging
{
    public const int MaxPage = 1000, DefaultPage = 100;

    public static int Limit(int? limit) =>
        limit is null ? DefaultPage : limit is >= 1 and <= MaxPage ? limit.Value : throw new InvalidField("limit", $"must be within 1..{MaxPage}");

    public static IQueryable<T> Page<T>(this IQueryable<T> query, int? limit, int? offset) =>
        query.Skip(offset is null or 0 ? 0 : offset > 0 ? offset.Value : throw new InvalidField("offset", "must be ≥ 0")).Take(Limit(limit));
}
