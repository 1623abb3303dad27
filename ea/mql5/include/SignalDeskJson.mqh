//+------------------------------------------------------------------+
//| SignalDeskJson.mqh: a minimal JSON reader and writer helpers     |
//| Enough for the /ea/v1 shapes: objects, arrays, strings (with     |
//| \uXXXX escapes; a surrogate pair stays two UTF-16 units, as MQL5 |
//| strings are), numbers (raw text kept, so tickets parse exactly), |
//| true/false/null. Not a general-purpose library. The writer       |
//| escapes like json.dumps and writes numbers exactly (SdNumber).   |
//+------------------------------------------------------------------+
enum ENUM_SD_JSON
  {
   SD_JSON_NULL,
   SD_JSON_BOOL,
   SD_JSON_NUMBER,
   SD_JSON_STRING,
   SD_JSON_ARRAY,
   SD_JSON_OBJECT
  };

//--- the value of 4 hex digits (a \uXXXX escape), -1 if they are not 4 hex digits
int SdHex4(const string digits)
  {
   if(StringLen(digits)!=4)
      return -1;
   int value=0;
   for(int i=0;i<4;i++)
     {
      ushort c=StringGetCharacter(digits,i);
      int d=-1;
      if(c>='0' && c<='9')
         d=c-'0';
      else if(c>='a' && c<='f')
         d=c-'a'+10;
      else if(c>='A' && c<='F')
         d=c-'A'+10;
      if(d<0)
         return -1;
      value=value*16+d;
     }
   return value;
  }

class CSdJson
  {
public:
   ENUM_SD_JSON      type;
   string            text;        // string value, or the raw text of a number
   bool              flag;
   string            keys[];
   CSdJson          *items[];

                     CSdJson(void) : type(SD_JSON_NULL), text(""), flag(false) {}
                    ~CSdJson(void)
     {
      for(int i=0;i<ArraySize(items);i++)
         if(CheckPointer(items[i])==POINTER_DYNAMIC)
            delete items[i];
     }
   int               Size(void) const { return ArraySize(items); }
   CSdJson          *At(const int i) { return (i>=0 && i<ArraySize(items)) ? items[i] : NULL; }
   CSdJson          *Get(const string key)
     {
      for(int i=0;i<ArraySize(keys);i++)
         if(keys[i]==key)
            return items[i];
      return NULL;
     }
   void              Add(const string key,CSdJson *value)
     {
      int n=ArraySize(items);
      ArrayResize(items,n+1);
      ArrayResize(keys,n+1);
      items[n]=value;
      keys[n]=key;
     }
   bool              IsNull(const string key)
     {
      CSdJson *v=Get(key);
      return v==NULL || v.type==SD_JSON_NULL;
     }
   //--- present, not null and not of `wanted` type: a field the EA must refuse
   bool              IsWrong(const string key,const ENUM_SD_JSON wanted)
     {
      CSdJson *v=Get(key);
      return v!=NULL && v.type!=SD_JSON_NULL && v.type!=wanted;
     }
   string            Str(const string key,const string fallback="")
     {
      CSdJson *v=Get(key);
      return (v==NULL || v.type==SD_JSON_NULL) ? fallback : v.text;
     }
   double            Num(const string key,const double fallback=0.0)
     {
      CSdJson *v=Get(key);
      return (v==NULL || v.type!=SD_JSON_NUMBER) ? fallback : StringToDouble(v.text);
     }
   long              Int(const string key,const long fallback=0)
     {
      CSdJson *v=Get(key);
      return (v==NULL || v.type!=SD_JSON_NUMBER) ? fallback : StringToInteger(v.text);
     }
  };

class CSdJsonParser
  {
private:
   string            m_s;
   int               m_pos;
   int               m_len;
   bool              m_ok;

   ushort            Peek(void) { return m_pos<m_len ? StringGetCharacter(m_s,m_pos) : 0; }
   void              SkipWs(void)
     {
      while(m_pos<m_len)
        {
         ushort c=Peek();
         if(c!=' ' && c!='\t' && c!='\r' && c!='\n')
            break;
         m_pos++;
        }
     }
   bool              Literal(const string word)
     {
      if(StringSubstr(m_s,m_pos,StringLen(word))!=word)
         return false;
      m_pos+=StringLen(word);
      return true;
     }
   string            ParseString(void)
     {
      string out="";
      m_pos++; // the opening quote
      while(m_pos<m_len)
        {
         ushort c=Peek();
         m_pos++;
         if(c=='"')
            return out;
         if(c!='\\')
           {
            out+=ShortToString(c);
            continue;
           }
         ushort e=Peek();
         m_pos++;
         switch(e)
           {
            case 'n': out+="\n"; break;
            case 't': out+="\t"; break;
            case 'r': out+="\r"; break;
            case 'b': out+=ShortToString(8); break;
            case 'f': out+=ShortToString(12); break;
            case 'u':
              {
               int code=SdHex4(StringSubstr(m_s,m_pos,4));
               if(code<0)
                 {
                  m_ok=false;
                  return out;
                 }
               out+=ShortToString((ushort)code);
               m_pos+=4;
               break;
              }
            default: out+=ShortToString(e); // \" \\ \/
           }
        }
      m_ok=false;
      return out;
     }
   CSdJson          *ParseValue(const int depth)
     {
      SkipWs();
      CSdJson *v=new CSdJson();
      ushort c=Peek();
      if(depth>32)
         m_ok=false;
      else if(c=='{')
         ParseContainer(v,depth,true);
      else if(c=='[')
         ParseContainer(v,depth,false);
      else if(c=='"')
        {
         v.type=SD_JSON_STRING;
         v.text=ParseString();
        }
      else if(Literal("true"))
        {
         v.type=SD_JSON_BOOL;
         v.flag=true;
        }
      else if(Literal("false"))
         v.type=SD_JSON_BOOL;
      else if(Literal("null"))
         v.type=SD_JSON_NULL;
      else
        {
         int start=m_pos;
         while(m_pos<m_len && StringFind("+-0123456789.eE",ShortToString(Peek()))>=0)
            m_pos++;
         v.type=SD_JSON_NUMBER;
         v.text=StringSubstr(m_s,start,m_pos-start);
         if(m_pos==start)
            m_ok=false;
        }
      return v;
     }
   void              ParseContainer(CSdJson *v,const int depth,const bool is_object)
     {
      v.type=is_object ? SD_JSON_OBJECT : SD_JSON_ARRAY;
      ushort close=is_object ? '}' : ']';
      m_pos++;
      SkipWs();
      if(Peek()==close)
        {
         m_pos++;
         return;
        }
      while(m_ok && m_pos<m_len)
        {
         string key="";
         if(is_object)
           {
            SkipWs();
            if(Peek()!='"')
              {
               m_ok=false;
               return;
              }
            key=ParseString();
            SkipWs();
            if(Peek()!=':')
              {
               m_ok=false;
               return;
              }
            m_pos++;
           }
         v.Add(key,ParseValue(depth+1));
         SkipWs();
         ushort c=Peek();
         m_pos++;
         if(c==close)
            return;
         if(c!=',')
            m_ok=false;
        }
      m_ok=false;
     }

public:
   //--- the parsed tree (delete it), or NULL for malformed text
   CSdJson          *Parse(const string text)
     {
      m_s=text;
      m_pos=0;
      m_len=StringLen(text);
      m_ok=true;
      CSdJson *root=ParseValue(0);
      if(!m_ok)
        {
         delete root;
         return NULL;
        }
      return root;
     }
  };

//--- writer helpers: each returns one "key":value pair

//--- a JSON string literal, escaped as Python's json.dumps does by default: \" \\ \b \f \n
//--- \r \t, every other character below 0x20 and every one above 0x7E as \uXXXX (lowercase
//--- hex; UTF-16 units, so a surrogate pair is two escapes). The text is pure ASCII then:
//--- nothing depends on a code page (WebRequest's body, the ANSI state file)
string SdJsonEscape(const string value)
  {
   string hex="0123456789abcdef";
   string out="\"";
   int n=StringLen(value);
   for(int i=0;i<n;i++)
     {
      ushort c=StringGetCharacter(value,i);
      if(c=='"')
         out+="\\\"";
      else if(c=='\\')
         out+="\\\\";
      else if(c==8)
         out+="\\b";
      else if(c==12)
         out+="\\f";
      else if(c=='\n')
         out+="\\n";
      else if(c=='\r')
         out+="\\r";
      else if(c=='\t')
         out+="\\t";
      else if(c<0x20 || c>0x7E)
         out+="\\u"+StringSubstr(hex,(c>>12)&0x0F,1)+StringSubstr(hex,(c>>8)&0x0F,1)
              +StringSubstr(hex,(c>>4)&0x0F,1)+StringSubstr(hex,c&0x0F,1);
      else
         out+=ShortToString(c);
     }
   return out+"\"";
  }

//--- a number written exactly: the shortest fixed-point text that reads back as the same
//--- double (as Python's repr), so 0.00001 stays 0.00001 and 1.095 stays 1.095; "null" for
//--- NaN and infinities (the protocol has no such numbers)
string SdNumber(const double value)
  {
   if(!MathIsValidNumber(value))
      return "null";
   for(int digits=0;digits<=16;digits++)
     {
      string text=DoubleToString(value,digits);
      if(StringToDouble(text)==value)
         return text;
     }
   return DoubleToString(value,-16); // tiny values: 17 significant digits, e.g. 1.2e-020
  }

string SdPairStr(const string key,const string value)
  {
   return SdJsonEscape(key)+":"+SdJsonEscape(value);
  }

string SdPairNum(const string key,const double value)
  {
   return SdJsonEscape(key)+":"+SdNumber(value);
  }

string SdPairInt(const string key,const long value)
  {
   return SdJsonEscape(key)+":"+IntegerToString(value);
  }

string SdPairNull(const string key)
  {
   return SdJsonEscape(key)+":null";
  }

//--- a price or level: null when MT5 says 0 (no level)
string SdPairLevel(const string key,const double value)
  {
   return value==0.0 ? SdPairNull(key) : SdPairNum(key,value);
  }
//+------------------------------------------------------------------+
