namespace Grpo;
/// <summary>Temporary.</summary>
public static class Placeholder { }
