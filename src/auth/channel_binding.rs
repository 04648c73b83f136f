//! Channel binding `tls-server-end-point` (RFC 5929): a hash of the server's certificate, with
//! the hash function of the certificate's signature (SHA-256 when that is MD5 or SHA-1).

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::AuthError;

/// The `tls-server-end-point` channel-binding data for a DER-encoded server certificate.
///
/// Fails for signature algorithms that name no single hash (RSASSA-PSS, Ed25519, Ed448), as
/// PostgreSQL's server does.
pub fn tls_server_end_point(certificate_der: &[u8]) -> Result<Vec<u8>, AuthError> {
    let oid = signature_algorithm(certificate_der)?;
    let hash = HASHES
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, h)| *h)
        .ok_or(AuthError::Certificate(
            "its signature algorithm names no hash usable for channel binding",
        ))?;
    Ok(match hash {
        Hash::Sha224 => Sha224::digest(certificate_der).to_vec(),
        Hash::Sha256 => Sha256::digest(certificate_der).to_vec(),
        Hash::Sha384 => Sha384::digest(certificate_der).to_vec(),
        Hash::Sha512 => Sha512::digest(certificate_der).to_vec(),
    })
}

#[derive(Clone, Copy)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Signature algorithm OIDs (DER contents) and the hash channel binding uses for each.
const HASHES: &[(&[u8], Hash)] = &[
    // md5WithRSAEncryption, sha1WithRSAEncryption: RFC 5929 says SHA-256.
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x04],
        Hash::Sha256,
    ),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05],
        Hash::Sha256,
    ),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B],
        Hash::Sha256,
    ),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C],
        Hash::Sha384,
    ),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D],
        Hash::Sha512,
    ),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0E],
        Hash::Sha224,
    ),
    // ecdsa-with-SHA1, -SHA224, -SHA256, -SHA384, -SHA512
    (&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01], Hash::Sha256),
    (
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x01],
        Hash::Sha224,
    ),
    (
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02],
        Hash::Sha256,
    ),
    (
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03],
        Hash::Sha384,
    ),
    (
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04],
        Hash::Sha512,
    ),
    // dsa-with-sha1, dsa-with-sha224, dsa-with-sha256
    (&[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x03], Hash::Sha256),
    (
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x01],
        Hash::Sha224,
    ),
    (
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02],
        Hash::Sha256,
    ),
];

/// The OID of `Certificate.signatureAlgorithm.algorithm`: the second element of the outer
/// SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
fn signature_algorithm(der: &[u8]) -> Result<&[u8], AuthError> {
    let bad = AuthError::Certificate("not a DER X.509 certificate");
    let (cert, _) = element(der, 0x30).ok_or(bad.clone())?;
    let (_tbs, rest) = element(cert, 0x30).ok_or(bad.clone())?;
    let (alg, _) = element(rest, 0x30).ok_or(bad.clone())?;
    let (oid, _) = element(alg, 0x06).ok_or(bad)?;
    Ok(oid)
}

/// One DER element with the expected tag: its contents and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal certificate-shaped DER: SEQUENCE { SEQUENCE {}, SEQUENCE { OID }, BIT STRING }.
    fn fake_cert(oid: &[u8]) -> Vec<u8> {
        let mut alg = vec![0x06, oid.len() as u8];
        alg.extend_from_slice(oid);
        let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
        body.extend_from_slice(&alg);
        body.extend_from_slice(&[0x03, 0x01, 0x00]);
        let mut cert = vec![0x30, body.len() as u8];
        cert.extend_from_slice(&body);
        cert
    }

    #[test]
    fn picks_the_hash_of_the_signature() {
        let sha256_rsa = fake_cert(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]);
        assert_eq!(
            tls_server_end_point(&sha256_rsa).unwrap(),
            Sha256::digest(&sha256_rsa).to_vec()
        );
        let sha1_rsa = fake_cert(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05]);
        assert_eq!(tls_server_end_point(&sha1_rsa).unwrap().len(), 32);
        let ecdsa384 = fake_cert(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03]);
        assert_eq!(
            tls_server_end_point(&ecdsa384).unwrap(),
            Sha384::digest(&ecdsa384).to_vec()
        );
        let sha512 = fake_cert(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D]);
        assert_eq!(tls_server_end_point(&sha512).unwrap().len(), 64);
    }

    #[test]
    fn refuses_what_names_no_hash_and_garbage() {
        let ed25519 = fake_cert(&[0x2B, 0x65, 0x70]);
        assert!(matches!(
            tls_server_end_point(&ed25519),
            Err(AuthError::Certificate(_))
        ));
        assert!(tls_server_end_point(b"").is_err());
        assert!(tls_server_end_point(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(tls_server_end_point(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
    }
}
