# Sourced by herd's scripts: sets JAVA to a JDK 25 (or newer) java, and JAVA_HOME to its home.
# JAVA_HOME wins when it is 25+; otherwise the newest JDK 25+ under /usr/lib/jvm.

java_feature() { # prints the feature version of the java at $1
  # the JDK's release file says it without starting a JVM (50 ms of every CLI verb); else ask java
  local release version
  release="$(dirname "$(dirname "$1")")/release"
  version=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*"$/\1/p' "$release" 2>/dev/null | head -n1)
  [ -n "$version" ] && { echo "$version"; return; }
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1
}

find_java25() {
  local candidate version
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    version=$(java_feature "$JAVA_HOME/bin/java")
    if [ -n "$version" ] && [ "${version%%.*}" -ge 25 ] 2>/dev/null; then
      JAVA="$JAVA_HOME/bin/java"; export JAVA_HOME; return 0
    fi
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    version=$(java_feature "$candidate/bin/java")
    if [ -n "$version" ] && [ "${version%%.*}" -ge 25 ] 2>/dev/null; then
      JAVA_HOME="${candidate%/}"; JAVA="$JAVA_HOME/bin/java"; export JAVA_HOME; return 0
    fi
  done
  echo "herd: no JDK 25 found. herd needs Java 25 or newer: set JAVA_HOME to one, or install one under /usr/lib/jvm" \
       "(e.g. apt-get install temurin-25-jdk or openjdk-25-jdk)." >&2
  return 1
}
