package dev.kmirror.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.AlgorithmParameters;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKey;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.PBEParameterSpec;

/**
 * {@code stores}: writes the test PKI's Java key stores with the JDK's own
 * {@link KeyStore} (what {@code keytool} runs on), one JVM for all of them.
 *
 * <p>Why not keytool: it cannot import a private key from PEM (that takes a
 * PKCS12 file made by openssl first), and each call is a JVM start.
 *
 * <p>Input lines, each answered with {@code {"ok":true}}:
 * <ul>
 *   <li>{@code {"op":"store","type":"JKS"|"PKCS12","path":P,"storePassword":S,
 *       "certs":[{"alias":A,"pem":F}],"key":{"alias":A,"pem":F,"chain":F,"password":K}}}:
 *       a store with trusted certificates ({@code certs}) and/or one private key
 *       entry ({@code key}: an unencrypted PKCS#8 PEM file and its chain as PEM).
 *   <li>{@code {"op":"legacy-key","pem":F,"password":K,"out":F2,"pbes2":F3}}: writes
 *       the key of F encrypted with PBEWithSHA1AndDESede ({@code openssl pkcs8
 *       -topk8 -v1 PBE-SHA1-3DES}) to F2, and checks that F3, the same key
 *       encrypted with PBES2 by the Rust side, decrypts with K to the same key.
 *       Kafka's PEM key stores read only the former on JDK 17: they look the
 *       cipher up by {@code EncryptedPrivateKeyInfo.getAlgName()}, which is
 *       just "PBES2" for the latter.
 *   <li>{@code {"op":"rsa-key","path":P}}: a new RSA 2048 key as PKCS#8 DER
 *       (the Rust side signs with ring, which cannot generate RSA keys).
 * </ul>
 */
final class Stores {
    private Stores() {}

    static int run(String[] argv) throws Exception {
        new Args(argv, 1, TestClient.set(), TestClient.set());
        JsonNode request;
        while ((request = TestClient.nextInput()) != null) {
            String op = request.path("op").asText();
            switch (op) {
                case "store" -> store(request);
                case "rsa-key" -> rsaKey(Path.of(request.get("path").asText()));
                case "legacy-key" -> legacyKey(request);
                default -> throw new IllegalArgumentException("unknown stores op '" + op + "'");
            }
            ObjectNode ok = TestClient.object();
            ok.put("ok", true);
            TestClient.emit(ok);
        }
        return 0;
    }

    private static void store(JsonNode request) throws Exception {
        KeyStore store = KeyStore.getInstance(request.get("type").asText());
        store.load(null, null);
        for (JsonNode cert : request.path("certs")) {
            for (Certificate c : certificates(cert.get("pem").asText())) {
                store.setCertificateEntry(cert.get("alias").asText(), c);
            }
        }
        JsonNode key = request.get("key");
        if (key != null && !key.isNull()) {
            Certificate[] chain = certificates(key.get("chain").asText()).toArray(new Certificate[0]);
            byte[] der = pemBody(key.get("pem").asText(), "PRIVATE KEY");
            String algorithm = chain[0].getPublicKey().getAlgorithm();
            PrivateKey privateKey = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            store.setKeyEntry(key.get("alias").asText(), privateKey,
                    key.get("password").asText().toCharArray(), chain);
        }
        try (OutputStream out = new FileOutputStream(request.get("path").asText())) {
            store.store(out, request.get("storePassword").asText().toCharArray());
        }
    }

    private static Collection<? extends Certificate> certificates(String pemFile) throws Exception {
        byte[] pem = Files.readAllBytes(Path.of(pemFile));
        return CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
    }

    private static void legacyKey(JsonNode request) throws Exception {
        byte[] der = pemBody(request.get("pem").asText(), "PRIVATE KEY");
        char[] password = request.get("password").asText().toCharArray();

        byte[] pbes2 = pemBody(request.get("pbes2").asText(), "ENCRYPTED PRIVATE KEY");
        EncryptedPrivateKeyInfo info = new EncryptedPrivateKeyInfo(pbes2);
        // For PBES2 the parameters name the real scheme, e.g.
        // PBEWithHmacSHA256AndAES_256; getAlgName() says only "PBES2".
        AlgorithmParameters params = info.getAlgParameters();
        String scheme = params.toString();
        SecretKey pbeKey = SecretKeyFactory.getInstance(scheme).generateSecret(new PBEKeySpec(password));
        Cipher decrypt = Cipher.getInstance(scheme);
        decrypt.init(Cipher.DECRYPT_MODE, pbeKey, params);
        if (!Arrays.equals(info.getKeySpec(decrypt).getEncoded(), der)) {
            throw new IllegalStateException(request.get("pbes2").asText() + " does not decrypt to the key of "
                    + request.get("pem").asText());
        }

        String legacy = "PBEWithSHA1AndDESede";
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        SecretKey legacyKey = SecretKeyFactory.getInstance(legacy).generateSecret(new PBEKeySpec(password));
        Cipher encrypt = Cipher.getInstance(legacy);
        encrypt.init(Cipher.ENCRYPT_MODE, legacyKey, new PBEParameterSpec(salt, 2048));
        byte[] encoded = new EncryptedPrivateKeyInfo(encrypt.getParameters(), encrypt.doFinal(der)).getEncoded();
        String pem = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(encoded)
                + "\n-----END ENCRYPTED PRIVATE KEY-----\n";
        Files.writeString(Path.of(request.get("out").asText()), pem, StandardCharsets.US_ASCII);
    }

    /** The bytes of the first PEM block labelled {@code label} in a file. */
    private static byte[] pemBody(String file, String label) throws Exception {
        String text = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN " + label + "-----";
        int start = text.indexOf(begin);
        int end = text.indexOf("-----END " + label + "-----");
        if (start < 0 || end < start) {
            throw new IllegalArgumentException(file + " has no " + label + " block");
        }
        return Base64.getMimeDecoder().decode(text.substring(start + begin.length(), end));
    }

    private static void rsaKey(Path path) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        Files.write(path, generator.generateKeyPair().getPrivate().getEncoded());
    }
}
