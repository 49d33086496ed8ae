//! Per-control-plane secrets: a fresh CA, the API server's serving certificate
//! (SANs `127.0.0.1`, `localhost`), the admission webhook's serving certificate
//! (SAN `127.0.0.1`, signed by the same CA, which the webhook configurations
//! carry as their `caBundle`), the service-account signing key and random
//! bearer tokens. Nothing is shared between control planes.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::Error;

/// PEM and DER material generated for one control plane.
pub(crate) struct Pki {
    pub ca_pem: String,
    pub ca_der: Vec<u8>,
    pub serving_cert_pem: String,
    pub serving_key_pem: String,
    pub sa_key_pem: String,
    pub sa_pub_pem: String,
    /// The webhook's serving certificate (DER) and its PKCS#8 key (DER).
    pub webhook_cert_der: Vec<u8>,
    pub webhook_key_der: Vec<u8>,
}

impl Pki {
    pub fn generate() -> Result<Pki, Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "hhdash-testenv-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let serving_key = KeyPair::generate()?;
        let mut serving = CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default".to_string(),
            "kubernetes.default.svc".to_string(),
        ])?;
        serving
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        serving.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        serving.use_authority_key_identifier_extension = true;
        let serving_cert = serving.signed_by(&serving_key, &issuer)?;

        let webhook_key = KeyPair::generate()?;
        let mut webhook = CertificateParams::new(vec!["127.0.0.1".to_string()])?;
        webhook
            .distinguished_name
            .push(DnType::CommonName, "hhdash-testenv-webhook");
        webhook.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        webhook.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        webhook.use_authority_key_identifier_extension = true;
        let webhook_cert = webhook.signed_by(&webhook_key, &issuer)?;

        let sa_key = KeyPair::generate()?;

        Ok(Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            serving_cert_pem: serving_cert.pem(),
            serving_key_pem: serving_key.serialize_pem(),
            sa_pub_pem: sa_key.public_key_pem(),
            sa_key_pem: sa_key.serialize_pem(),
            webhook_cert_der: webhook_cert.der().to_vec(),
            webhook_key_der: webhook_key.serialize_der(),
        })
    }
}

/// A random 256-bit bearer token, hex encoded.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
