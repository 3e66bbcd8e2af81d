using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EventMlOps.Models;

/// <summary>The recommender's id tables and each user's items, which serving needs to map ids to dense indices and
/// to leave out what a user already has. Stored base64-encoded in the model's <see cref="ModelMetadata.SeenItems"/>
/// entry so that the ONNX file alone is a complete artifact.</summary>
/// <remarks>Layout, little-endian: "EMOSEEN1", int32 users, int32 items, int64 user ids[users], int64 item ids[items],
/// int64 offsets[users + 1], int32 item indices[offsets[users]] — user u's items (ascending) are
/// <c>items[offsets[u] .. offsets[u+1])</c>.</remarks>
public sealed class SeenItems
{
    private static readonly byte[] Magic = "EMOSEEN1"u8.ToArray();

    private SeenItems(long[] userIds, long[] itemIds, long[] offsets, int[] items) =>
        (UserIds, ItemIds, Offsets, Items) = (userIds, itemIds, offsets, items);

    /// <summary>The id of each dense user index, ascending.</summary>
    public long[] UserIds { get; }

    /// <summary>The id of each dense item index, ascending.</summary>
    public long[] ItemIds { get; }

    private long[] Offsets { get; }
    private int[] Items { get; }

    public int Count => Items.Length;

    /// <summary>User <paramref name="user"/>'s item indices, ascending.</summary>
    public ReadOnlySpan<int> Of(int user) => Items.AsSpan((int)Offsets[user], (int)(Offsets[user + 1] - Offsets[user]));

    /// <summary>How many users have each item (by dense item index): the items' training interactions.</summary>
    public int[] InteractionsPerItem()
    {
        var counts = new int[ItemIds.Length];
        foreach (var item in Items) counts[item]++;
        return counts;
    }

    /// <summary>The dense index of a user id, or -1 when the model has never seen that user.</summary>
    public int UserIndex(long userId) => Math.Max(-1, Array.BinarySearch(UserIds, userId));

    /// <summary>From interactions given as dense (user, item) index pairs, each pair at most once.</summary>
    public static SeenItems From(long[] userIds, long[] itemIds, IReadOnlyList<int> users, IReadOnlyList<int> items)
    {
        var offsets = new long[userIds.Length + 1];
        foreach (var u in users) offsets[u + 1]++;
        for (var u = 0; u < userIds.Length; u++) offsets[u + 1] += offsets[u];
        var next = offsets[..^1];
        var flat = new int[users.Count];
        for (var i = 0; i < users.Count; i++) flat[next[users[i]]++] = items[i];
        for (var u = 0; u < userIds.Length; u++) Array.Sort(flat, (int)offsets[u], (int)(offsets[u + 1] - offsets[u]));
        return new SeenItems(userIds, itemIds, offsets, flat);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Magic.Length + 8 + 8 * (UserIds.Length + ItemIds.Length + Offsets.Length) + 4 * Items.Length];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), UserIds.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), ItemIds.Length);
        var at = 16;
        at = Put(bytes, at, UserIds.AsSpan());
        at = Put(bytes, at, ItemIds.AsSpan());
        at = Put(bytes, at, Offsets.AsSpan());
        Put(bytes, at, Items.AsSpan());
        return bytes;
    }

    public static SeenItems Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 16 || !bytes[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException("the seen items are not in the EMOSEEN1 format");
        var users = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        var items = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        var at = 16;
        var userIds = Take<long>(bytes, ref at, users);
        var itemIds = Take<long>(bytes, ref at, items);
        var offsets = Take<long>(bytes, ref at, users + 1);
        var flat = Take<int>(bytes, ref at, checked((int)offsets[^1]));
        if (at != bytes.Length) throw new InvalidDataException($"the seen items have {bytes.Length - at} trailing bytes");
        return new SeenItems(userIds, itemIds, offsets, flat);
    }

    private static int Put<T>(byte[] bytes, int at, ReadOnlySpan<T> values) where T : struct
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the seen-items format is little-endian");
        var raw = MemoryMarshal.AsBytes(values);
        raw.CopyTo(bytes.AsSpan(at));
        return at + raw.Length;
    }

    private static T[] Take<T>(ReadOnlySpan<byte> bytes, ref int at, int count) where T : struct
    {
        var size = count * Marshal.SizeOf<T>();
        if (count < 0 || at + size > bytes.Length) throw new InvalidDataException("the seen items are truncated");
        var values = MemoryMarshal.Cast<byte, T>(bytes.Slice(at, size)).ToArray();
        at += size;
        return values;
    }
}
