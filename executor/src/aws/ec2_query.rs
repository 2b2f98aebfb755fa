//! A small client of the EC2 Query API, for the few EC2 calls cutover makes
//! (`DescribeLaunchTemplateVersions`, `CreateLaunchTemplateVersion`,
//! `DescribeInstances`) without `aws-sdk-ec2`, whose build alone takes
//! minutes.
//!
//! A call is a form-encoded `POST` (`Action=…&Version=2016-11-15&…`) signed
//! with SigV4 by `aws-sigv4`, with the credentials, region and endpoint of
//! the [`SdkConfig`]. The answer is XML, read with `aws-smithy-xml` (the
//! SDK's own reader) into a small tree of [`Node`]s. Errors
//! (`<Response><Errors><Error><Code>…`) become [`CloudError`]s as the SDK's
//! do. Throttling, server errors and transport errors are tried 3 times in
//! all, like the SDK's standard retry policy. Credentials are never logged
//! nor returned.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};

use super::CloudError;

/// The EC2 API version every call names.
const API_VERSION: &str = "2016-11-15";

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 3;

/// Element names whose children are read; any other element is a leaf whose
/// text is kept (and whose children, if any, are skipped).
const CONTAINERS: &[&str] = &[
    "Errors",
    "Error",
    "launchTemplate",
    "launchTemplateVersionSet",
    "launchTemplateVersion",
    "launchTemplateData",
    "reservationSet",
    "instancesSet",
    "item",
];

/// How deep the reader goes into an answer.
const MAX_DEPTH: usize = 16;

/// An EC2 Query API client for one region and endpoint.
#[derive(Clone)]
pub(crate) struct Ec2Query {
    http: reqwest::Client,
    /// Where calls go, when known: the configured endpoint or the region's.
    endpoint: Option<String>,
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    /// The last credentials, kept until 5 minutes before they expire.
    cached: Arc<tokio::sync::Mutex<Option<Credentials>>>,
}

/// Shows where calls go, never the credentials.
impl std::fmt::Debug for Ec2Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ec2Query")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// A launch template version, as far as cutover reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateVersion {
    /// `versionNumber`.
    pub number: u64,
    /// `launchTemplateData.imageId`, when set.
    pub image: Option<String>,
}

impl Ec2Query {
    /// A client for the configuration's region, credentials and endpoint
    /// (`SdkConfig::endpoint_url`, else `https://ec2.{region}.amazonaws.com`).
    /// Without a region every call fails, as the SDK's do. Like the SDK's
    /// clients, it ignores proxy variables.
    pub(crate) fn new(config: &SdkConfig) -> Self {
        let region = config.region().map(|r| r.as_ref().to_owned());
        let endpoint = match (config.endpoint_url(), &region) {
            (Some(url), _) => Some(url.trim_end_matches('/').to_owned()),
            (None, Some(region)) => Some(format!("https://ec2.{region}.amazonaws.com")),
            (None, None) => None,
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Ec2Query {
            http,
            endpoint,
            region,
            credentials: config.credentials_provider(),
            cached: Arc::default(),
        }
    }

    /// One API call: `action` with `params` (already flattened, e.g.
    /// `LaunchTemplateData.ImageId`). Returns the answer's root element.
    pub(crate) async fn call(
        &self,
        action: &'static str,
        params: &[(&str, &str)],
    ) -> Result<Node, CloudError> {
        let body = encode_body(action, params);
        let mut attempt = 1;
        loop {
            match self.send(action, &body).await {
                Err(error) if attempt < ATTEMPTS && error.retryable => {
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err(error.error),
                Ok(node) => return Ok(node),
            }
        }
    }

    async fn send(&self, action: &'static str, body: &str) -> Result<Node, Failure> {
        let (Some(region), Some(endpoint)) = (&self.region, &self.endpoint) else {
            return Err(Failure {
                error: service(action, "no AWS region is configured"),
                retryable: false,
            });
        };
        let credentials = self.credentials().await.map_err(|error| Failure {
            error: service(action, error),
            retryable: false,
        })?;
        let headers = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        let signed = signature_headers(
            &credentials,
            region,
            endpoint,
            &headers,
            body,
            SystemTime::now(),
        )
        .map_err(|error| Failure {
            error: service(action, format!("cannot sign the request: {error}")),
            retryable: false,
        })?;
        let mut request = self.http.post(endpoint).body(body.to_owned());
        for (name, value) in headers.iter().copied().chain(
            signed
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        ) {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|error| Failure {
            error: service(action, error_chain(&error)),
            retryable: true,
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|error| Failure {
            error: service(action, error_chain(&error)),
            retryable: true,
        })?;
        if status.is_success() {
            return parse(&text).map_err(|problem| Failure {
                error: service(action, format!("unreadable answer: {problem}")),
                retryable: false,
            });
        }
        let error = error_of(action, status.as_u16(), &text);
        let retryable = error.is_throttling() || status.is_server_error();
        Err(Failure { error, retryable })
    }

    /// Credentials of the configuration's provider, cached until 5 minutes
    /// before they expire.
    async fn credentials(&self) -> Result<Credentials, String> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| "no AWS credentials are configured".to_owned())?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|error| format!("no AWS credentials: {error}"))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Versions of a launch template (`DescribeLaunchTemplateVersions`);
    /// `versions` may name numbers, `$Latest` and `$Default`.
    pub(crate) async fn template_versions(
        &self,
        template_id: &str,
        versions: &[&str],
    ) -> Result<Vec<TemplateVersion>, CloudError> {
        let names: Vec<String> = (1..=versions.len())
            .map(|n| format!("LaunchTemplateVersion.{n}"))
            .collect();
        let mut params = vec![("LaunchTemplateId", template_id)];
        params.extend(
            names
                .iter()
                .map(String::as_str)
                .zip(versions.iter().copied()),
        );
        let answer = self.call("DescribeLaunchTemplateVersions", &params).await?;
        Ok(answer
            .child("launchTemplateVersionSet")
            .map(|set| set.children("item").filter_map(template_version).collect())
            .unwrap_or_default())
    }

    /// A new version of a launch template from `source_version` (a number)
    /// with only its AMI changed (`CreateLaunchTemplateVersion`; a client
    /// token makes a retried call create one version, not two).
    pub(crate) async fn create_template_version(
        &self,
        template_id: &str,
        source_version: &str,
        image: &str,
    ) -> Result<TemplateVersion, CloudError> {
        const OPERATION: &str = "CreateLaunchTemplateVersion";
        let token = client_token();
        let answer = self
            .call(
                OPERATION,
                &[
                    ("LaunchTemplateId", template_id),
                    ("SourceVersion", source_version),
                    ("LaunchTemplateData.ImageId", image),
                    ("VersionDescription", "cutover: new AMI"),
                    ("ClientToken", &token),
                ],
            )
            .await?;
        answer
            .child("launchTemplateVersion")
            .and_then(template_version)
            .ok_or_else(|| service(OPERATION, "the answer names no version number"))
    }

    /// The AMI of each of these instances that EC2 knows
    /// (`DescribeInstances` with an `instance-id` filter, so that an instance
    /// gone meanwhile is left out rather than failing the call; 200 IDs a call).
    pub(crate) async fn instance_images(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, String)>, CloudError> {
        let mut images = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(200) {
            let names: Vec<String> = (1..=chunk.len())
                .map(|n| format!("Filter.1.Value.{n}"))
                .collect();
            let mut token = String::new();
            loop {
                let mut params = vec![("Filter.1.Name", "instance-id")];
                params.extend(
                    names
                        .iter()
                        .map(String::as_str)
                        .zip(chunk.iter().map(String::as_str)),
                );
                if !token.is_empty() {
                    params.push(("NextToken", &token));
                }
                let answer = self.call("DescribeInstances", &params).await?;
                let instances = answer
                    .child("reservationSet")
                    .into_iter()
                    .flat_map(|set| set.children("item"))
                    .filter_map(|reservation| reservation.child("instancesSet"))
                    .flat_map(|set| set.children("item"));
                for instance in instances {
                    if let (Some(id), Some(image)) =
                        (instance.text("instanceId"), instance.text("imageId"))
                    {
                        images.push((id.to_owned(), image.to_owned()));
                    }
                }
                match answer.text("nextToken") {
                    Some(next) if !next.is_empty() => token = next.to_owned(),
                    _ => break,
                }
            }
        }
        Ok(images)
    }
}

/// A failed attempt, and whether another may succeed.
struct Failure {
    error: CloudError,
    retryable: bool,
}

fn service(operation: &'static str, message: impl Into<String>) -> CloudError {
    CloudError::Service {
        operation,
        message: message.into(),
        throttled: false,
    }
}

/// An error and its causes, for transport errors.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn template_version(node: &Node) -> Option<TemplateVersion> {
    Some(TemplateVersion {
        number: node.text("versionNumber")?.parse().ok()?,
        image: node
            .child("launchTemplateData")
            .and_then(|data| data.text("imageId"))
            .map(str::to_owned),
    })
}

/// A token unique to this call: the time in nanoseconds and the process.
fn client_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("cutover-{nanos:x}-{:x}", std::process::id())
}

/// The form body: `Action`, `Version`, then the parameters, each name and
/// value percent-encoded as SigV4 expects (RFC 3986 unreserved kept).
fn encode_body(action: &str, params: &[(&str, &str)]) -> String {
    [("Action", action), ("Version", API_VERSION)]
        .iter()
        .chain(params)
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The headers SigV4 adds (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` for temporary credentials).
fn signature_headers(
    credentials: &Credentials,
    region: &str,
    endpoint: &str,
    headers: &[(&str, &str)],
    body: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        "POST",
        endpoint,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// An error answer (`<Response><Errors><Error><Code>…<Message>…`) as a
/// [`CloudError`]: NotFound and throttling codes as such.
fn error_of(operation: &'static str, status: u16, body: &str) -> CloudError {
    let error = parse(body)
        .ok()
        .and_then(|root| Some(root.child("Errors")?.child("Error")?.clone()));
    let code = error
        .as_ref()
        .and_then(|e| e.text("Code"))
        .unwrap_or_default()
        .to_owned();
    let message = match (
        code.as_str(),
        error.as_ref().and_then(|e| e.text("Message")),
    ) {
        ("", _) => format!("HTTP {status}"),
        (code, Some(message)) => format!("{code}: {message}"),
        (code, None) => code.to_owned(),
    };
    super::sdk::classified(operation, &code, message)
}

/// An element of an answer: its name, its text (for a leaf) and its
/// children (for the elements in `CONTAINERS` and the root).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child of this name.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child of this name.
    pub(crate) fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child of this name.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Reads an answer into a tree.
pub(crate) fn parse(xml: &str) -> Result<Node, String> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    let name = root.start_el().local().to_owned();
    Ok(Node {
        name,
        text: String::new(),
        children: read_children(&mut root, 1),
    })
}

fn read_children(scope: &mut ScopedDecoder<'_, '_>, depth: usize) -> Vec<Node> {
    let mut children = Vec::new();
    while let Some(mut tag) = scope.next_tag() {
        let name = tag.start_el().local().to_owned();
        if CONTAINERS.contains(&name.as_str()) && depth < MAX_DEPTH {
            let grandchildren = read_children(&mut tag, depth + 1);
            children.push(Node {
                name,
                text: String::new(),
                children: grandchildren,
            });
        } else {
            // Text, or nothing for an element with elements inside (skipped
            // when `tag` is dropped).
            let text = try_data(&mut tag)
                .map(|t| t.into_owned())
                .unwrap_or_default();
            children.push(Node {
                name,
                text,
                children: Vec::new(),
            });
        }
    }
    children
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_form_encoded_with_action_and_version() {
        assert_eq!(
            encode_body(
                "CreateLaunchTemplateVersion",
                &[
                    ("LaunchTemplateId", "lt-0abc"),
                    ("SourceVersion", "3"),
                    ("LaunchTemplateData.ImageId", "ami-123"),
                    ("VersionDescription", "cutover: new AMI/2 & more~"),
                ]
            ),
            "Action=CreateLaunchTemplateVersion&Version=2016-11-15&LaunchTemplateId=lt-0abc\
             &SourceVersion=3&LaunchTemplateData.ImageId=ami-123\
             &VersionDescription=cutover%3A%20new%20AMI%2F2%20%26%20more~"
        );
        assert_eq!(percent_encode("é$"), "%C3%A9%24");
    }

    #[test]
    fn requests_are_signed_for_ec2_in_the_region() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let headers = signature_headers(
            &credentials,
            "eu-west-1",
            "https://ec2.eu-west-1.amazonaws.com",
            &[("content-type", "application/x-www-form-urlencoded")],
            "Action=DescribeInstances&Version=2016-11-15",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .expect("signed");
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let authorization = header("authorization").expect("authorization");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/eu-west-1/ec2/aws4_request"
            ),
            "{authorization}"
        );
        assert!(!authorization.contains("secret"));
        assert_eq!(header("x-amz-date"), Some("20231114T221320Z"));
        assert_eq!(header("x-amz-security-token"), None);
    }

    #[test]
    fn launch_template_versions_are_read() {
        let answer = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <DescribeLaunchTemplateVersionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
              <requestId>1</requestId>
              <launchTemplateVersionSet>
                <item>
                  <launchTemplateId>lt-0abc</launchTemplateId>
                  <versionNumber>2</versionNumber>
                  <launchTemplateData>
                    <blockDeviceMappingSet><item><deviceName>/dev/xvda</deviceName></item></blockDeviceMappingSet>
                    <imageId>ami-222</imageId>
                    <instanceType>t3.micro</instanceType>
                  </launchTemplateData>
                </item>
                <item><versionNumber>1</versionNumber><launchTemplateData/></item>
              </launchTemplateVersionSet>
            </DescribeLaunchTemplateVersionsResponse>"#,
        )
        .expect("parsed");
        let versions: Vec<_> = answer
            .child("launchTemplateVersionSet")
            .expect("set")
            .children("item")
            .filter_map(template_version)
            .collect();
        assert_eq!(
            versions,
            [
                TemplateVersion {
                    number: 2,
                    image: Some("ami-222".to_owned())
                },
                TemplateVersion {
                    number: 1,
                    image: None
                }
            ]
        );
    }

    #[test]
    fn instances_are_read_through_reservations() {
        let answer = parse(
            "<DescribeInstancesResponse><reservationSet>\
               <item><reservationId>r-1</reservationId><instancesSet>\
                 <item><instanceId>i-1</instanceId><imageId>ami-1</imageId>\
                   <tagSet><item><key>k</key></item></tagSet></item>\
                 <item><instanceId>i-2</instanceId><imageId>ami-2</imageId></item>\
               </instancesSet></item>\
             </reservationSet><nextToken/></DescribeInstancesResponse>",
        )
        .expect("parsed");
        let ids: Vec<(&str, &str)> = answer
            .child("reservationSet")
            .into_iter()
            .flat_map(|s| s.children("item"))
            .filter_map(|r| r.child("instancesSet"))
            .flat_map(|s| s.children("item"))
            .filter_map(|i| Some((i.text("instanceId")?, i.text("imageId")?)))
            .collect();
        assert_eq!(ids, [("i-1", "ami-1"), ("i-2", "ami-2")]);
        assert_eq!(answer.text("nextToken"), Some(""));
    }

    #[test]
    fn error_answers_map_to_cloud_errors() {
        let answer = |code: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>{code}</Code><Message>The thing &apos;x&apos; does not exist</Message>\
                 </Error></Errors><RequestID>r</RequestID></Response>"
            )
        };
        let missing = error_of(
            "DescribeLaunchTemplateVersions",
            400,
            &answer("InvalidLaunchTemplateId.NotFound"),
        );
        assert!(
            matches!(&missing, CloudError::NotFound { what, .. }
                if what == "InvalidLaunchTemplateId.NotFound: The thing 'x' does not exist"),
            "{missing:?}"
        );
        let gone = error_of(
            "DescribeInstances",
            400,
            &answer("InvalidInstanceID.NotFound"),
        );
        assert!(matches!(gone, CloudError::NotFound { .. }), "{gone:?}");
        let throttled = error_of("DescribeInstances", 503, &answer("RequestLimitExceeded"));
        assert!(throttled.is_throttling(), "{throttled:?}");
        let other = error_of("DescribeInstances", 400, &answer("UnauthorizedOperation"));
        assert!(
            matches!(&other, CloudError::Service { throttled: false, message, .. }
                if message.starts_with("UnauthorizedOperation: ")),
            "{other:?}"
        );
        let garbled = error_of("DescribeInstances", 502, "<html>bad gateway");
        assert!(
            matches!(&garbled, CloudError::Service { message, .. } if message == "HTTP 502"),
            "{garbled:?}"
        );
    }

    #[test]
    fn debug_shows_no_credentials() {
        let config = SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "very-secret",
                None,
                None,
                "test",
            )))
            .build();
        let client = Ec2Query::new(&config);
        let shown = format!("{client:?}");
        assert!(shown.contains("eu-west-1"), "{shown}");
        assert!(
            shown.contains("https://ec2.eu-west-1.amazonaws.com"),
            "{shown}"
        );
        assert!(
            !shown.contains("very-secret") && !shown.contains("AKID"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn without_a_region_calls_fail_before_sending() {
        let client = Ec2Query::new(&SdkConfig::builder().build());
        let error = client
            .call("DescribeInstances", &[])
            .await
            .expect_err("no region");
        assert!(
            error.to_string() == "DescribeInstances failed: no AWS region is configured",
            "{error}"
        );
    }
}
