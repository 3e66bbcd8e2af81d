using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EventMlOps.Artifacts;

/// <summary>
/// File checks .NET does not offer, for reading files that someone else may have planted: <c>realpath</c> (.NET leaves
/// intermediate links alone), opening without following a final symlink and without blocking (a FIFO must not hang
/// the reader), and the file type (<c>statx</c>, whose layout is the same on every architecture, unlike
/// <c>struct stat</c>). Linux only.
/// </summary>
public static class UnixFiles
{
    private const int ONonBlock = 0x800, ONoCtty = 0x100, OCloExec = 0x80000;
    private const int AtFdCwd = -100, AtEmptyPath = 0x1000, AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1, StatxSize = 0x200;

    // O_NOFOLLOW is one of the few flags whose value differs between architectures.
    private static readonly int ONoFollow = RuntimeInformation.ProcessArchitecture
        is Architecture.Arm or Architecture.Arm64 or Architecture.Ppc64le ? 0x8000 : 0x20000;

    public readonly record struct FileStatus(bool IsRegular, long Size);

    /// <summary>The absolute path with every symlink resolved; null when it does not exist (or cannot be resolved).</summary>
    public static string? RealPath(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { free(resolved); }
    }

    /// <summary>The type and size of <paramref name="path"/> itself (a final symlink is not followed); null when absent.</summary>
    public static FileStatus? Status(string path) => Statx(AtFdCwd, path, AtSymlinkNoFollow);

    public static FileStatus? Status(SafeFileHandle handle) => Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath);

    /// <summary>Opens a regular file for reading — never through a final symlink, never blocking on a FIFO or device;
    /// null when <paramref name="path"/> is anything else or absent.</summary>
    public static SafeFileHandle? OpenRegular(string path)
    {
        var fd = open(path, ONonBlock | ONoCtty | OCloExec | ONoFollow);
        if (fd < 0) return null;
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Status(handle) is { IsRegular: true }) return handle;
        handle.Dispose();
        return null;
    }

    /// <summary>The path of what <paramref name="handle"/> has open, as the kernel knows it.</summary>
    public static string? OpenedPath(SafeFileHandle handle) => new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;

    private static FileStatus? Statx(int fd, string path, int flags)
    {
        var buffer = new byte[256]; // sizeof(struct statx)
        if (statx(fd, path, flags, StatxType | StatxSize, buffer) != 0) return null;
        var mode = MemoryMarshal.Read<ushort>(buffer.AsSpan(0x1c));
        return new FileStatus((mode & 0xF000) == 0x8000, MemoryMarshal.Read<long>(buffer.AsSpan(0x28)));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath(string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);

    [DllImport("libc", SetLastError = true)]
    private static extern int open(string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, string path, int flags, uint mask, byte[] buffer);
}
