namespace Grpo.Rewards.Math;

/// <summary>
/// The parsed form of an answer: a small expression tree that covers what maths answers are made of (numbers,
/// variables, arithmetic, functions, relations, tuples, sets, intervals, matrices, text). The parser builds it;
/// the exact engine (<see cref="ExactForm"/>), the numeric evaluator and the comparer read it.
/// </summary>
internal abstract record MathExpr;

/// <summary>A number literal, kept exact. <paramref name="IsDecimal"/>: written with a decimal point, so the
/// comparison may round it (0.333333 against 1/3).</summary>
internal sealed record Num(BigRational Value, bool IsDecimal = false) : MathExpr;

/// <summary>A variable or other name: x, a_1, alpha, f.</summary>
internal sealed record Sym(string Name) : MathExpr;

/// <summary>The named constants the engine knows.</summary>
internal enum ConstantKind { Pi, E, I, Infinity }

/// <summary>pi, e, the imaginary unit i, or infinity.</summary>
internal sealed record Const(ConstantKind Kind) : MathExpr;

/// <summary>-x.</summary>
internal sealed record Neg(MathExpr Operand) : MathExpr;

/// <summary>A sum of terms.</summary>
internal sealed record Add(IReadOnlyList<MathExpr> Terms) : MathExpr;

/// <summary>A product of factors (explicit or implicit multiplication).</summary>
internal sealed record Mul(IReadOnlyList<MathExpr> Factors) : MathExpr;

/// <summary>A quotient: \frac{a}{b}, a/b, a \div b.</summary>
internal sealed record Div(MathExpr Numerator, MathExpr Denominator) : MathExpr;

/// <summary>base^exponent.</summary>
internal sealed record Pow(MathExpr Base, MathExpr Exponent) : MathExpr;

/// <summary>The n-th root, \sqrt[n]{x}; odd roots of negative reals are real (\sqrt[3]{-8} = -2).</summary>
internal sealed record Root(MathExpr Radicand, int Index) : MathExpr;

/// <summary>A function application: sin, ln, abs, floor, factorial, binom, sum(var, from, to, body), ...</summary>
internal sealed record Call(string Name, IReadOnlyList<MathExpr> Args) : MathExpr;

/// <summary>a ± b (or ±b when <paramref name="Left"/> is null): two answers in one.</summary>
internal sealed record PlusMinus(MathExpr? Left, MathExpr Right) : MathExpr;

/// <summary>x%.</summary>
internal sealed record Percent(MathExpr Operand) : MathExpr;

/// <summary>Relation operators, as written.</summary>
internal enum RelOp { Eq, Lt, Le, Gt, Ge, Ne, Approx, In }

/// <summary>A relation or chain of them: x = 5, a &lt; x \le b, y = 3 + 3 = 6, x \in [0, 1).</summary>
internal sealed record Relation(IReadOnlyList<MathExpr> Operands, IReadOnlyList<RelOp> Ops) : MathExpr;

/// <summary>An ordered tuple: (1, 2), \langle 1, 2 \rangle. A two-element one may also mean an open interval.</summary>
internal sealed record TupleExpr(IReadOnlyList<MathExpr> Items) : MathExpr;

/// <summary>An interval with open or closed ends; infinite ends are <see cref="Const"/> infinity.</summary>
internal sealed record Interval(MathExpr Low, MathExpr High, bool LowOpen, bool HighOpen) : MathExpr;

/// <summary>An explicit set, \{1, 2\}; order and repetition do not matter.</summary>
internal sealed record SetExpr(IReadOnlyList<MathExpr> Items) : MathExpr;

/// <summary>A bare list of answers (1, 2 and 3; x = 1; x = 2); order does not matter.</summary>
internal sealed record ListExpr(IReadOnlyList<MathExpr> Items) : MathExpr;

/// <summary>Set operators.</summary>
internal enum SetOpKind { Union, Intersection, Difference }

/// <summary>A ∪ B, A ∩ B, A \ B.</summary>
internal sealed record SetOp(SetOpKind Kind, MathExpr Left, MathExpr Right) : MathExpr;

/// <summary>A matrix or vector written with pmatrix, bmatrix or array; rows of cells.</summary>
internal sealed record Matrix(IReadOnlyList<IReadOnlyList<MathExpr>> Rows) : MathExpr;

/// <summary>A ratio a : b (: c ...).</summary>
internal sealed record Ratio(IReadOnlyList<MathExpr> Parts) : MathExpr;

/// <summary>A text answer: \text{Evelyn}, a multiple-choice letter, a sentence.</summary>
internal sealed record Text(string Value) : MathExpr;
