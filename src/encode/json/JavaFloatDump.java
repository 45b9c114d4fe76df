// Writes `<hex bits> <toString>` lines for doubles (doubles.txt) and floats (floats.txt), to check
// the Rust port of Java's float formatting: javac JavaFloatDump.java && java JavaFloatDump N
// (then JAVA_FLOAT_DUMP_DIR=. cargo test --release --lib java_float_dump -- --nocapture).
import java.io.*;
import java.util.Random;

public class JavaFloatDump {
    static PrintWriter d, f;
    static void d(double x) { if (!Double.isNaN(x)) d.println(Long.toHexString(Double.doubleToRawLongBits(x)) + " " + x); }
    static void f(float x) { if (!Float.isNaN(x)) f.println(Integer.toHexString(Float.floatToRawIntBits(x)) + " " + x); }

    public static void main(String[] a) throws IOException {
        int n = Integer.parseInt(a[0]);
        Random r = new Random(a.length > 1 ? Long.parseLong(a[1]) : 12345);
        d = new PrintWriter(new BufferedWriter(new FileWriter("doubles.txt")));
        f = new PrintWriter(new BufferedWriter(new FileWriter("floats.txt")));
        for (int i = 0; i < n; i++) {
            switch (i % 10) {
                case 0: d(Double.longBitsToDouble(r.nextLong())); f(Float.intBitsToFloat(r.nextInt())); break;
                case 1: d(Double.parseDouble((r.nextInt(2000000) - 1000000) + "e" + (r.nextInt(60) - 30)));
                        f(Float.parseFloat((r.nextInt(200000) - 100000) + "e" + (r.nextInt(30) - 15))); break;
                case 2: d(Double.parseDouble(String.format("%.3f", r.nextDouble() * 100000)));
                        f(Float.parseFloat(String.format("%.2f", r.nextDouble() * 1000))); break;
                case 3: d(r.nextDouble() * Math.pow(10, r.nextInt(600) - 300)); f((float) (r.nextDouble() * Math.pow(10, r.nextInt(80) - 40))); break;
                case 4: d(Double.longBitsToDouble(r.nextLong() & 0x000FFFFFFFFFFFFFL >>> r.nextInt(53)));  // subnormals
                        f(Float.intBitsToFloat(r.nextInt() & (0x007FFFFF >>> r.nextInt(24)))); break;
                case 5: d((double) (r.nextLong() >>> r.nextInt(64))); f((float) (r.nextLong() >>> r.nextInt(64))); break; // integers
                case 6: { double p = Math.scalb(1.0, r.nextInt(2098) - 1074); d(p); d(Math.nextUp(p)); d(Math.nextDown(p));
                          float q = Math.scalb(1.0f, r.nextInt(277) - 149); f(q); f(Math.nextUp(q)); f(Math.nextDown(q)); break; }
                case 7: { double p = Math.pow(10, r.nextInt(630) - 325); d(p); d(Math.nextUp(p)); d(Math.nextDown(p));
                          float q = (float) Math.pow(10, r.nextInt(85) - 45); f(q); f(Math.nextUp(q)); f(Math.nextDown(q)); break; }
                case 8: d(Double.parseDouble(r.nextInt(10) + "." + r.nextInt(100) + "e" + (r.nextInt(640) - 325)));
                        f(Float.parseFloat(r.nextInt(10) + "." + r.nextInt(100) + "e" + (r.nextInt(85) - 45))); break;
                default: d((double) r.nextFloat() * (1L << r.nextInt(63))); f(r.nextFloat() * (1 << r.nextInt(31))); break;
            }
        }
        d.close();
        f.close();
    }
}
