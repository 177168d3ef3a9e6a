using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Grpo.Tokenization;

/// <summary>
/// JSON text exactly as the <c>tojson</c> filter of transformers' chat templates writes it, which is Python's
/// <c>json.dumps(x, ensure_ascii=False, indent=indent)</c>: <c>", "</c> and <c>": "</c> between items (<c>","</c> and
/// newlines when indented), keys in insertion order, non-ASCII text as is, floats as Python's <c>repr</c>
/// (<c>1.0</c>, <c>1e-05</c>, <c>1e+16</c>). System.Text.Json's compact form would give the model other tokens than
/// it was trained on.
/// </summary>
internal static class PythonJson
{
    /// <summary>The value as <c>json.dumps</c> writes it; <paramref name="indent"/> as its <c>indent</c> argument.</summary>
    public static string Dumps(object? value, int? indent = null)
    {
        var text = new StringBuilder();
        Write(text, value, indent);
        return text.ToString();
    }

    /// <summary>Appends the value as <c>json.dumps</c> writes it.</summary>
    /// <remarks>
    /// Takes what tool-call arguments hold: <see cref="JsonElement"/>s (parsed completions, schemas), CLR primitives,
    /// dictionaries and lists of them; anything else goes through <see cref="AIJsonUtilities.DefaultOptions"/> first,
    /// as Microsoft.Extensions.AI serialises it for a chat service.
    /// </remarks>
    public static void Write(StringBuilder text, object? value, int? indent, int depth = 0)
    {
        switch (value)
        {
            case null: text.Append("null"); break;
            case JsonElement element: WriteElement(text, element, indent, depth); break;
            case string s: WriteString(text, s); break;
            case char c: WriteString(text, c.ToString()); break;
            case bool b: text.Append(b ? "true" : "false"); break;
            case sbyte or byte or short or ushort or int or uint or long or ulong or nint or nuint or Int128 or UInt128 or BigInteger:
                text.Append(((IFormattable)value).ToString(null, CultureInfo.InvariantCulture)); break;
            case double d: WriteFloat(text, d, d.ToString("R", CultureInfo.InvariantCulture)); break;
            case float f: WriteFloat(text, f, f.ToString("R", CultureInfo.InvariantCulture)); break;
            case Half h: WriteFloat(text, (double)h, h.ToString("R", CultureInfo.InvariantCulture)); break;
            case decimal m: WriteFloat(text, (double)m, m.ToString(CultureInfo.InvariantCulture)); break;
            case IEnumerable<KeyValuePair<string, object?>> pairs: WriteObject(text, pairs.Select(p => (p.Key, p.Value)), indent, depth); break;
            case IDictionary dictionary:
                WriteObject(text, dictionary.Cast<DictionaryEntry>().Select(e => (Convert.ToString(e.Key, CultureInfo.InvariantCulture)!, e.Value)), indent, depth);
                break;
            case IEnumerable items: WriteArray(text, items.Cast<object?>(), indent, depth); break;
            default:
                WriteElement(text, JsonSerializer.SerializeToElement(value, value.GetType(), AIJsonUtilities.DefaultOptions), indent, depth);
                break;
        }
    }

    static void WriteElement(StringBuilder text, JsonElement element, int? indent, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(text, element.EnumerateObject().Select(p => (p.Name, (object?)p.Value)), indent, depth);
                break;
            case JsonValueKind.Array:
                WriteArray(text, element.EnumerateArray().Select(e => (object?)e), indent, depth);
                break;
            case JsonValueKind.String: WriteString(text, element.GetString()!); break;
            case JsonValueKind.True: text.Append("true"); break;
            case JsonValueKind.False: text.Append("false"); break;
            case JsonValueKind.Number:
                // Python's json.loads makes an int of a literal without '.', 'e' or 'E' and a float of any other.
                var raw = element.GetRawText();
                if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
                    text.Append(BigInteger.Parse(raw, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                else
                {
                    var d = double.Parse(raw, CultureInfo.InvariantCulture);
                    WriteFloat(text, d, d.ToString("R", CultureInfo.InvariantCulture));
                }
                break;
            default: text.Append("null"); break;
        }
    }

    static void WriteObject(StringBuilder text, IEnumerable<(string Key, object? Value)> members, int? indent, int depth)
    {
        var first = true;
        foreach (var (key, value) in members)
        {
            text.Append(first ? "{" : indent is null ? ", " : ",");
            NewLine(text, indent, depth + 1);
            WriteString(text, key);
            text.Append(": ");
            Write(text, value, indent, depth + 1);
            first = false;
        }
        if (first)
            text.Append("{}");
        else
        {
            NewLine(text, indent, depth);
            text.Append('}');
        }
    }

    static void WriteArray(StringBuilder text, IEnumerable<object?> items, int? indent, int depth)
    {
        var first = true;
        foreach (var item in items)
        {
            text.Append(first ? "[" : indent is null ? ", " : ",");
            NewLine(text, indent, depth + 1);
            Write(text, item, indent, depth + 1);
            first = false;
        }
        if (first)
            text.Append("[]");
        else
        {
            NewLine(text, indent, depth);
            text.Append(']');
        }
    }

    static void NewLine(StringBuilder text, int? indent, int depth)
    {
        if (indent is { } width)
            text.Append('\n').Append(' ', width * depth);
    }

    // json.dumps with ensure_ascii=False escapes only the quote, the backslash and the C0 controls.
    static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: text.Append(c); break;
            }
        }
        text.Append('"');
    }

    // Python's float repr: the shortest digits that read back to the same value (what .NET's "R" gives), laid out
    // in positional notation when the decimal exponent is in (-4, 16] and in scientific notation otherwise.
    static void WriteFloat(StringBuilder text, double value, string shortest)
    {
        if (double.IsNaN(value)) { text.Append("NaN"); return; }
        if (double.IsInfinity(value)) { text.Append(value > 0 ? "Infinity" : "-Infinity"); return; }

        if (shortest.StartsWith('-'))
        {
            text.Append('-');
            shortest = shortest[1..];
        }
        var exponentAt = shortest.IndexOfAny(['E', 'e']);
        var mantissa = exponentAt < 0 ? shortest : shortest[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(shortest[(exponentAt + 1)..], CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        // The value is 0.DIGITS x 10^decimalPoint.
        var decimalPoint = (point < 0 ? mantissa.Length : point) + exponent;
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        decimalPoint -= leadingZeros;
        if (digits.Length == 0)
        {
            text.Append("0.0");
            return;
        }

        if (decimalPoint is > -4 and <= 16)
        {
            if (decimalPoint <= 0)
                text.Append("0.").Append('0', -decimalPoint).Append(digits);
            else if (decimalPoint >= digits.Length)
                text.Append(digits).Append('0', decimalPoint - digits.Length).Append(".0");
            else
                text.Append(digits, 0, decimalPoint).Append('.').Append(digits, decimalPoint, digits.Length - decimalPoint);
            return;
        }
        text.Append(digits[0]);
        if (digits.Length > 1)
            text.Append('.').Append(digits, 1, digits.Length - 1);
        var power = decimalPoint - 1;
        text.Append(power < 0 ? "e-" : "e+").Append(Math.Abs(power).ToString("00", CultureInfo.InvariantCulture));
    }
}
