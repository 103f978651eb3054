namespace EdgeStream.Emulators;

internal static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: edgestream-emulator llrp|r2000 --scenario FILE [options]");
        return args.Length == 0 ? 2 : 1;
    }
}
